package actions

import (
	"context"
	"fmt"
)

// secretOps name one secret in SecretId and are authorized as themselves
// on its ARN.
var secretOps = set("GetSecretValue", "DescribeSecret", "PutSecretValue", "UpdateSecret", "DeleteSecret",
	"RestoreSecret", "RotateSecret", "CancelRotateSecret", "TagResource", "UntagResource",
	"GetResourcePolicy", "PutResourcePolicy", "DeleteResourcePolicy", "ListSecretVersionIds",
	"UpdateSecretVersionStage", "ReplicateSecretToRegions", "RemoveRegionsFromReplication",
	"StopReplicationToReplica")

var secretPolicyOps = set("CreateSecret", "DeleteSecret", "RestoreSecret", "PutResourcePolicy", "DeleteResourcePolicy")

func secretsModel(ctx context.Context, p *parsed, r Resolver) error {
	op := p.call.Operation
	action := "secretsmanager:" + op
	p.call.Changes = secretPolicyOps[op]
	switch {
	case secretOps[op]:
		id, err := p.need("SecretId")
		if err != nil {
			return err
		}
		arn, err := p.secretARN(ctx, r, id)
		if err != nil {
			return err
		}
		keys := map[string][]string{"secretsmanager:SecretId": {arn}}
		for param, key := range map[string]string{"VersionId": "secretsmanager:VersionId", "VersionStage": "secretsmanager:VersionStage"} {
			if v := p.str(param); v != "" {
				keys[key] = []string{v}
			}
		}
		p.call.Params["secretId"] = id
		p.add(action, arn, keys)
	case op == "CreateSecret":
		name, err := p.need("Name")
		if err != nil {
			return err
		}
		p.call.Params["name"] = name
		p.add(action, p.arn("secretsmanager", "secret:"+name), map[string][]string{"secretsmanager:Name": {name}})
	case op == "BatchGetSecretValue":
		// The batch needs its own action on every resource, and
		// GetSecretValue on each secret it returns.
		p.add(action, "*", nil)
		for _, id := range stringList(p.json["SecretIdList"]) {
			arn, err := p.secretARN(ctx, r, id)
			if err != nil {
				return err
			}
			p.add("secretsmanager:GetSecretValue", arn, map[string][]string{"secretsmanager:SecretId": {arn}})
		}
	case op == "ListSecrets" || op == "GetRandomPassword" || op == "ValidateResourcePolicy":
		p.add(action, "*", nil)
	default:
		return p.unmodeled()
	}
	return nil
}

// secretARN resolves a secret name or partial ARN to the secret's full
// ARN, with the 6-character suffix that policies such as
// "secret:db-pass-??????" match. A secret that does not exist keeps the
// ARN built from its name, so only a policy broad enough for any secret of
// that name lets the caller learn that it is missing.
func (p *parsed) secretARN(ctx context.Context, r Resolver, id string) (string, error) {
	if r != nil {
		arn, found, err := r.SecretARN(ctx, id)
		if err != nil {
			return "", fmt.Errorf("%w: secret %s: %w", errResolve, id, err)
		}
		if found {
			return arn, nil
		}
	}
	if len(id) > 4 && id[:4] == "arn:" {
		return id, nil
	}
	return p.arn("secretsmanager", "secret:"+id), nil
}
