package actions

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// kmsKeyOps name one key in KeyId and are authorized as themselves on it.
var kmsKeyOps = set("Encrypt", "Decrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
	"GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "DescribeKey", "GetKeyPolicy",
	"PutKeyPolicy", "ListKeyPolicies", "EnableKey", "DisableKey", "ScheduleKeyDeletion", "CancelKeyDeletion",
	"GetKeyRotationStatus", "EnableKeyRotation", "DisableKeyRotation", "ListResourceTags", "TagResource",
	"UntagResource", "Sign", "Verify", "GetPublicKey", "GenerateMac", "VerifyMac", "ListGrants",
	"CreateGrant", "RevokeGrant", "UpdateKeyDescription", "RotateKeyOnDemand", "ListKeyRotations",
	"ImportKeyMaterial", "GetParametersForImport", "DeleteImportedKeyMaterial", "ReplicateKey",
	"UpdatePrimaryRegion", "DeriveSharedSecret")

// kmsContextOps carry an encryption context.
var kmsContextOps = set("Encrypt", "Decrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
	"GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "ReEncrypt")

var kmsChangeOps = set("CreateKey", "PutKeyPolicy", "CreateAlias", "DeleteAlias", "UpdateAlias")

func kmsModel(ctx context.Context, p *parsed, r Resolver) error {
	op := p.call.Operation
	action := "kms:" + op
	p.call.Changes = kmsChangeOps[op]
	switch {
	case op == "Decrypt" && p.str("KeyId") == "":
		// A symmetric ciphertext names its key itself.
		blob, err := p.need("CiphertextBlob")
		if err != nil {
			return err
		}
		arn, err := p.ciphertextKey(ctx, r, blob, "EncryptionContext")
		if err != nil {
			return err
		}
		p.add(action, arn, p.kmsKeys(op, "EncryptionContext", ""))
	case kmsKeyOps[op]:
		id, err := p.need("KeyId")
		if err != nil {
			return err
		}
		arn, err := p.keyARN(ctx, r, id)
		if err != nil {
			return err
		}
		p.call.Params["keyId"] = id
		p.add(action, arn, p.kmsKeys(op, "EncryptionContext", id))
	case op == "ReEncrypt":
		dst, err := p.need("DestinationKeyId")
		if err != nil {
			return err
		}
		src := p.str("SourceKeyId")
		var from string
		if src == "" {
			from, err = p.ciphertextKey(ctx, r, p.str("CiphertextBlob"), "SourceEncryptionContext")
		} else {
			from, err = p.keyARN(ctx, r, src)
		}
		if err != nil {
			return err
		}
		to, err := p.keyARN(ctx, r, dst)
		if err != nil {
			return err
		}
		p.add("kms:ReEncryptFrom", from, p.kmsKeys(op, "SourceEncryptionContext", src))
		p.add("kms:ReEncryptTo", to, p.kmsKeys(op, "DestinationEncryptionContext", dst))
	case op == "CreateAlias" || op == "UpdateAlias" || op == "DeleteAlias":
		alias, err := p.need("AliasName")
		if err != nil {
			return err
		}
		if !strings.HasPrefix(alias, "alias/") {
			return invalid("1 validation error detected: Value '%s' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^alias/[a-zA-Z0-9/_-]+$", alias)
		}
		p.call.Params["aliasName"] = alias
		p.add(action, p.arn("kms", alias), nil)
		// The alias's key (the new one and, when it moves, the old one)
		// must allow the same action.
		if op != "CreateAlias" {
			if old, found, err := p.aliasKey(ctx, r, alias); err != nil {
				return err
			} else if found {
				p.add(action, old, nil)
			}
		}
		if target := p.str("TargetKeyId"); target != "" {
			arn, err := p.keyARN(ctx, r, target)
			if err != nil {
				return err
			}
			p.add(action, arn, nil)
		}
	case op == "CreateKey" || op == "ListKeys" || op == "ListAliases" || op == "GenerateRandom" || op == "ListRetirableGrants" ||
		op == "DescribeCustomKeyStores":
		p.add(action, "*", nil)
	default:
		return p.unmodeled()
	}
	return nil
}

// keyARN resolves a key ID, key ARN, alias name or alias ARN to the key's
// ARN. An alias with no key keeps the alias's ARN, which no key policy
// names.
func (p *parsed) keyARN(ctx context.Context, r Resolver, id string) (string, error) {
	switch {
	case strings.HasPrefix(id, "alias/"):
		arn, found, err := p.aliasKey(ctx, r, id)
		if err != nil || found {
			return arn, err
		}
		return p.arn("kms", id), nil
	case strings.HasPrefix(id, "arn:") && strings.Contains(id, ":alias/"):
		arn, found, err := p.aliasKey(ctx, r, id[strings.Index(id, ":alias/")+1:])
		if err != nil || found {
			return arn, err
		}
		return id, nil
	case strings.HasPrefix(id, "arn:"):
		return id, nil
	}
	return p.arn("kms", "key/"+id), nil
}

func (p *parsed) aliasKey(ctx context.Context, r Resolver, alias string) (string, bool, error) {
	if r == nil {
		return "", false, nil
	}
	arn, found, err := r.KeyARN(ctx, alias)
	if err != nil {
		return "", false, fmt.Errorf("%w: alias %s: %w", errResolve, alias, err)
	}
	return arn, found, nil
}

// ciphertextKey asks the backend which key encrypted blob, under the
// encryption context in field.
func (p *parsed) ciphertextKey(ctx context.Context, r Resolver, blob, field string) (string, error) {
	if r != nil && blob != "" {
		ec := map[string]string{}
		for k, v := range obj(p.json[field]) {
			ec[k] = text(v)
		}
		arn, found, err := r.CiphertextKeyARN(ctx, blob, ec)
		if err != nil {
			return "", fmt.Errorf("%w: the key of a ciphertext: %w", errResolve, err)
		}
		if found {
			return arn, nil
		}
	}
	return "", &Error{Code: "InvalidCiphertextException", Message: "irsa-local could not tell which key encrypted the ciphertext; pass KeyId"}
}

// kmsKeys returns the condition keys of a call: kms:EncryptionContext:<k>
// and kms:EncryptionContextKeys from the context in field, the
// kms:EncryptionAlgorithm asked for, and kms:RequestAlias when the key was
// named by an alias.
func (p *parsed) kmsKeys(op, field, id string) map[string][]string {
	keys := map[string][]string{}
	if kmsContextOps[op] {
		ec := obj(p.json[field])
		for _, k := range slices.Sorted(maps.Keys(ec)) {
			keys["kms:EncryptionContext:"+k] = []string{text(ec[k])}
			keys["kms:EncryptionContextKeys"] = append(keys["kms:EncryptionContextKeys"], k)
		}
	}
	if a := p.str("EncryptionAlgorithm"); a != "" {
		keys["kms:EncryptionAlgorithm"] = []string{a}
	}
	if strings.HasPrefix(id, "alias/") {
		keys["kms:RequestAlias"] = []string{id}
	} else if i := strings.Index(id, ":alias/"); strings.HasPrefix(id, "arn:") && i >= 0 {
		keys["kms:RequestAlias"] = []string{id[i+1:]}
	}
	return keys
}
