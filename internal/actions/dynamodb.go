package actions

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// dynamoTableOps name their table in TableName and are authorized as
// themselves on it.
var dynamoTableOps = set("DescribeTable", "CreateTable", "DeleteTable", "UpdateTable", "DescribeTimeToLive",
	"UpdateTimeToLive", "DescribeContinuousBackups", "UpdateContinuousBackups", "CreateBackup", "ListBackups")

var dynamoItemOps = set("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan")

var dynamoArnOps = set("TagResource", "UntagResource", "ListTagsOfResource")

// dynamoTransactActions are the actions of TransactWriteItems' members.
var dynamoTransactActions = map[string]string{
	"ConditionCheck": "dynamodb:ConditionCheckItem",
	"Put":            "dynamodb:PutItem",
	"Update":         "dynamodb:UpdateItem",
	"Delete":         "dynamodb:DeleteItem",
}

func dynamodbModel(ctx context.Context, p *parsed, r Resolver) error {
	op := p.call.Operation
	action := "dynamodb:" + op
	p.call.Changes = op == "CreateTable" || op == "DeleteTable"
	switch {
	case dynamoItemOps[op]:
		table, err := p.need("TableName")
		if err != nil {
			return err
		}
		keys, err := p.dynamoKeys(ctx, r, op, table, p.json)
		if err != nil {
			return err
		}
		resource := p.tableARN(table)
		if index := p.str("IndexName"); index != "" && (op == "Query" || op == "Scan") {
			resource += "/index/" + index
		}
		p.call.Params["tableName"] = table
		p.add(action, resource, keys)
	case dynamoTableOps[op]:
		table, err := p.need("TableName")
		if err != nil {
			return err
		}
		p.call.Params["tableName"] = table
		p.add(action, p.tableARN(table), nil)
	case dynamoArnOps[op]:
		arn, err := p.need("ResourceArn")
		if err != nil {
			return err
		}
		p.add(action, arn, nil)
	case op == "BatchGetItem" || op == "BatchWriteItem":
		items := obj(p.json["RequestItems"])
		if len(items) == 0 {
			return invalid("1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must not be null")
		}
		for _, table := range slices.Sorted(maps.Keys(items)) {
			keys, err := p.batchKeys(ctx, r, op, table, items[table])
			if err != nil {
				return err
			}
			p.add(action, p.tableARN(table), keys)
		}
	case op == "TransactWriteItems" || op == "TransactGetItems":
		members := list(p.json["TransactItems"])
		if len(members) == 0 {
			return invalid("1 validation error detected: Value null at 'transactItems' failed to satisfy constraint: Member must not be null")
		}
		for _, m := range members {
			for _, kind := range slices.Sorted(maps.Keys(obj(m))) {
				item := obj(obj(m)[kind])
				act, ok := dynamoTransactActions[kind]
				if op == "TransactGetItems" {
					act, ok = "dynamodb:GetItem", kind == "Get"
				}
				table := text(item["TableName"])
				if !ok || table == "" {
					return invalid("the %s member %q is not one irsa-local models or names no TableName", op, kind)
				}
				itemOp := strings.TrimPrefix(act, "dynamodb:")
				keys, err := p.dynamoKeys(ctx, r, itemOp, table, item)
				if err != nil {
					return err
				}
				p.add(act, p.tableARN(table), keys)
			}
		}
	case op == "ExecuteStatement":
		return p.partiQL(p.str("Statement"))
	case op == "BatchExecuteStatement" || op == "ExecuteTransaction":
		field := "Statements"
		if op == "ExecuteTransaction" {
			field = "TransactStatements"
		}
		stmts := list(p.json[field])
		if len(stmts) == 0 {
			return invalid("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(field))
		}
		for _, st := range stmts {
			if err := p.partiQL(text(obj(st)["Statement"])); err != nil {
				return err
			}
		}
	case op == "ListTables" || op == "DescribeLimits" || op == "DescribeEndpoints" || op == "ListGlobalTables":
		p.add(action, "*", nil)
	default:
		return p.unmodeled()
	}
	return nil
}

// partiQLStatement finds the verb and the table (with an optional
// "."-separated index) of a PartiQL statement.
var partiQLStatement = regexp.MustCompile(`(?is)^\s*(SELECT\b.*?\bFROM|INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+("(?:[^"]|"")+"|[A-Za-z0-9_.-]+)`)

// partiQLActions are the IAM actions of PartiQL's verbs.
var partiQLActions = map[string]string{"SELECT": "dynamodb:PartiQLSelect", "INSERT": "dynamodb:PartiQLInsert", "UPDATE": "dynamodb:PartiQLUpdate", "DELETE": "dynamodb:PartiQLDelete"}

// partiQL adds the check of one PartiQL statement: its verb's action on
// its table, or on the index a SELECT names ("table"."index").
func (p *parsed) partiQL(stmt string) error {
	m := partiQLStatement.FindStringSubmatch(stmt)
	if m == nil {
		return invalid("irsa-local cannot tell the verb and table of the PartiQL statement %q", truncate(stmt, 100))
	}
	// The verb is the match's first letters: "SELECT!FROM" matches too, as
	// \b sits before "!".
	verb := ""
	for v := range partiQLActions {
		if strings.HasPrefix(strings.ToUpper(m[1]), v) {
			verb = v
		}
	}
	target := m[2]
	table, index := target, ""
	if strings.HasPrefix(target, `"`) {
		// "table" or "table"."index", with "" escaping a quote.
		parts := strings.SplitN(target[1:], `"."`, 2)
		table = strings.ReplaceAll(strings.TrimSuffix(parts[0], `"`), `""`, `"`)
		if len(parts) == 2 {
			index = strings.ReplaceAll(strings.TrimSuffix(parts[1], `"`), `""`, `"`)
		}
	} else if t, i, ok := strings.Cut(target, "."); ok {
		table, index = t, i
	}
	if rest := stmt[len(m[0]):]; strings.HasPrefix(rest, `."`) && index == "" {
		index = strings.Trim(strings.Fields(rest[1:])[0], `"`)
	}
	resource := p.tableARN(table)
	if index != "" && verb == "SELECT" {
		resource += "/index/" + index
	}
	p.add(partiQLActions[verb], resource, nil)
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// tableARN accepts a table name or, as DynamoDB does, a table ARN.
func (p *parsed) tableARN(table string) string {
	if strings.HasPrefix(table, "arn:") {
		return table
	}
	return p.arn("dynamodb", "table/"+table)
}

// dynamoKeys returns the condition keys of one item operation on table:
// dynamodb:LeadingKeys (the partition key values it touches),
// dynamodb:Attributes (the attribute names it reads or writes), and
// dynamodb:Select and dynamodb:ReturnValues as sent.
func (p *parsed) dynamoKeys(ctx context.Context, r Resolver, op, table string, in map[string]any) (map[string][]string, error) {
	keys := map[string][]string{}
	pk, err := p.partitionKey(ctx, r, table)
	if err != nil {
		return nil, err
	}
	names := obj(in["ExpressionAttributeNames"])
	var lead []string
	var attrs []string
	switch op {
	case "GetItem", "DeleteItem", "ConditionCheckItem":
		lead = leading(pk, obj(in["Key"]))
		attrs = projection(in, names)
	case "PutItem":
		item := obj(in["Item"])
		lead = leading(pk, item)
		attrs = slices.Sorted(maps.Keys(item))
	case "UpdateItem":
		key := obj(in["Key"])
		lead = leading(pk, key)
		attrs = append(slices.Sorted(maps.Keys(key)), updated(in, names)...)
	case "Query":
		lead = queryLeading(pk, in, names)
		attrs = projection(in, names)
	case "Scan":
		attrs = projection(in, names)
	}
	if len(lead) > 0 {
		keys["dynamodb:LeadingKeys"] = lead
	}
	if len(attrs) > 0 {
		keys["dynamodb:Attributes"] = dedupe(attrs)
	}
	for _, k := range []string{"Select", "ReturnValues"} {
		if v := text(in[k]); v != "" {
			keys["dynamodb:"+k] = []string{v}
		}
	}
	return keys, nil
}

// batchKeys gathers the condition keys of every item a batch names for
// one table.
func (p *parsed) batchKeys(ctx context.Context, r Resolver, op, table string, v any) (map[string][]string, error) {
	pk, err := p.partitionKey(ctx, r, table)
	if err != nil {
		return nil, err
	}
	var lead, attrs []string
	if op == "BatchGetItem" {
		spec := obj(v)
		for _, k := range list(spec["Keys"]) {
			lead = append(lead, leading(pk, obj(k))...)
		}
		attrs = projection(spec, obj(spec["ExpressionAttributeNames"]))
	} else {
		for _, w := range list(v) {
			if put := obj(obj(w)["PutRequest"]); put != nil {
				item := obj(put["Item"])
				lead = append(lead, leading(pk, item)...)
				attrs = append(attrs, slices.Sorted(maps.Keys(item))...)
			}
			if del := obj(obj(w)["DeleteRequest"]); del != nil {
				key := obj(del["Key"])
				lead = append(lead, leading(pk, key)...)
				attrs = append(attrs, slices.Sorted(maps.Keys(key))...)
			}
		}
	}
	keys := map[string][]string{}
	if len(lead) > 0 {
		keys["dynamodb:LeadingKeys"] = dedupe(lead)
	}
	if len(attrs) > 0 {
		keys["dynamodb:Attributes"] = dedupe(attrs)
	}
	return keys, nil
}

func (p *parsed) partitionKey(ctx context.Context, r Resolver, table string) (string, error) {
	if r == nil {
		return "", nil
	}
	pk, _, err := r.PartitionKey(ctx, table)
	if err != nil {
		return "", fmt.Errorf("%w: the key schema of table %s: %w", errResolve, table, err)
	}
	return pk, nil
}

// leading returns the partition key's value in an item or key, as IAM
// compares it: the attribute value's text.
func leading(pk string, item map[string]any) []string {
	if pk == "" {
		return nil
	}
	if v, ok := scalar(item[pk]); ok {
		return []string{v}
	}
	return nil
}

// scalar returns the text of an S, N or B attribute value.
func scalar(v any) (string, bool) {
	av := obj(v)
	for _, t := range []string{"S", "N", "B"} {
		if s, ok := av[t]; ok {
			return fmt.Sprint(s), true
		}
	}
	return "", false
}

// exprName resolves a #placeholder through ExpressionAttributeNames.
func exprName(tok string, names map[string]any) string {
	if strings.HasPrefix(tok, "#") {
		if n := text(names[tok]); n != "" {
			return n
		}
	}
	return tok
}

// projection returns the top-level attribute names a read asks for, from
// ProjectionExpression or the legacy AttributesToGet.
func projection(in, names map[string]any) []string {
	var out []string
	if pe := text(in["ProjectionExpression"]); pe != "" {
		for _, path := range strings.Split(pe, ",") {
			out = append(out, exprName(topLevel(strings.TrimSpace(path)), names))
		}
		return out
	}
	return stringList(in["AttributesToGet"])
}

// topLevel cuts a document path (a.b[2].c) to its first name.
func topLevel(path string) string {
	if i := strings.IndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return path
}

var (
	exprToken    = regexp.MustCompile(`[#A-Za-z_][A-Za-z0-9_]*(\.[#A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\])*`)
	exprKeywords = set("SET", "REMOVE", "ADD", "DELETE", "AND", "OR", "NOT", "BETWEEN", "IN",
		"if_not_exists", "list_append", "attribute_exists", "attribute_not_exists", "attribute_type",
		"begins_with", "contains", "size")
)

// updated returns the attribute names an UpdateItem writes: those of its
// UpdateExpression (the legacy AttributeUpdates' keys).
func updated(in, names map[string]any) []string {
	var out []string
	ue := text(in["UpdateExpression"])
	for _, loc := range exprToken.FindAllStringIndex(ue, -1) {
		tok := ue[loc[0]:loc[1]]
		if loc[0] > 0 && ue[loc[0]-1] == ':' || exprKeywords[tok] || exprKeywords[strings.ToUpper(tok)] {
			continue // a :value or a keyword
		}
		out = append(out, exprName(topLevel(tok), names))
	}
	return append(out, slices.Sorted(maps.Keys(obj(in["AttributeUpdates"])))...)
}

// queryLeading returns the partition key value a Query's key condition
// fixes: "pk = :v" (or "#n = :v") in KeyConditionExpression, or EQ in the
// legacy KeyConditions.
func queryLeading(pk string, in, names map[string]any) []string {
	if pk == "" {
		return nil
	}
	values := obj(in["ExpressionAttributeValues"])
	kce := text(in["KeyConditionExpression"])
	for _, part := range splitAnd(kce) {
		lhs, rhs, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		lhs, rhs = strings.TrimSpace(strings.Trim(strings.TrimSpace(lhs), "()")), strings.TrimSpace(strings.Trim(strings.TrimSpace(rhs), "()"))
		if exprName(lhs, names) != pk {
			lhs, rhs = rhs, lhs
		}
		if exprName(lhs, names) == pk && strings.HasPrefix(rhs, ":") {
			if v, ok := scalar(values[rhs]); ok {
				return []string{v}
			}
		}
	}
	if kc := obj(obj(in["KeyConditions"])[pk]); text(kc["ComparisonOperator"]) == "EQ" {
		if vs := list(kc["AttributeValueList"]); len(vs) == 1 {
			if v, ok := scalar(vs[0]); ok {
				return []string{v}
			}
		}
	}
	return nil
}

var andSplit = regexp.MustCompile(`(?i)\s+AND\s+`)

func splitAnd(s string) []string {
	if s == "" {
		return nil
	}
	return andSplit.Split(s, -1)
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	out := in[:0:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
