package actions

import (
	"context"
	"strconv"
	"strings"
)

// ssmParameterOps name one parameter in Name.
var ssmParameterOps = set("GetParameter", "PutParameter", "DeleteParameter", "GetParameterHistory",
	"LabelParameterVersion", "UnlabelParameterVersion")

var ssmTagOps = set("AddTagsToResource", "RemoveTagsFromResource", "ListTagsForResource")

func ssmModel(_ context.Context, p *parsed, _ Resolver) error {
	op := p.call.Operation
	action := "ssm:" + op
	switch {
	case ssmParameterOps[op]:
		name, err := p.need("Name")
		if err != nil {
			return err
		}
		keys := map[string][]string{}
		if op == "PutParameter" {
			overwrite, _ := p.json["Overwrite"].(bool)
			keys["ssm:Overwrite"] = []string{strconv.FormatBool(overwrite)}
		}
		p.call.Params["name"] = name
		p.add(action, p.parameterARN(name), keys)
	case op == "GetParameters" || op == "DeleteParameters":
		names := stringList(p.json["Names"])
		if len(names) == 0 {
			return invalid("1 validation error detected: Value null at 'names' failed to satisfy constraint: Member must not be null")
		}
		for _, n := range names {
			p.add(action, p.parameterARN(n), nil)
		}
	case op == "GetParametersByPath":
		path, err := p.need("Path")
		if err != nil {
			return err
		}
		recursive, _ := p.json["Recursive"].(bool)
		p.call.Params["path"] = path
		p.add(action, p.parameterARN(path), map[string][]string{"ssm:Recursive": {strconv.FormatBool(recursive)}})
	case ssmTagOps[op]:
		if p.str("ResourceType") != "Parameter" {
			return p.unmodeled()
		}
		id, err := p.need("ResourceId")
		if err != nil {
			return err
		}
		p.add(action, p.parameterARN(id), nil)
	case op == "DescribeParameters":
		p.add(action, "*", nil)
	default:
		return p.unmodeled()
	}
	return nil
}

// parameterARN returns the ARN of a parameter given by name (with or
// without its leading "/", with or without a ":version" or ":label"
// selector) or by ARN: "/app/db" and "app/db" are parameter/app/db.
func (p *parsed) parameterARN(name string) string {
	if strings.HasPrefix(name, "arn:") {
		if i := strings.Index(name, ":parameter/"); i >= 0 {
			rest := name[i+len(":parameter/"):]
			rest, _, _ = strings.Cut(rest, ":")
			return name[:i] + ":parameter/" + rest
		}
		return name
	}
	name, _, _ = strings.Cut(name, ":")
	return p.arn("ssm", "parameter/"+strings.TrimPrefix(name, "/"))
}
