package stsmock

import (
	"time"

	"github.com/irsa-local/irsa-local/pkg/policy"
)

// AWS managed policies irsa-local knows, with their current default
// documents. They live at arn:aws:iam::aws:policy/<Name> and cannot be
// changed or deleted.
var awsManagedPolicies = []struct {
	name, id, version, description, document string
	created                                  time.Time
}{
	{
		name: "AdministratorAccess", id: "ANPAIWMBCKSKIEE64ZLYK", version: "v1",
		description: "Provides full access to AWS services and resources.",
		document:    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
		created:     time.Date(2015, 2, 6, 18, 39, 46, 0, time.UTC),
	},
	{
		name: "AmazonS3FullAccess", id: "ANPAIFIR6V6BVTRAHWINE", version: "v2",
		description: "Provides full access to all buckets via the AWS Management Console.",
		document:    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","s3-object-lambda:*"],"Resource":"*"}]}`,
		created:     time.Date(2015, 2, 6, 18, 40, 58, 0, time.UTC),
	},
	{
		// Version 3 (2023): s3:Describe* and the object-lambda actions were
		// added to the original s3:Get* and s3:List*.
		name: "AmazonS3ReadOnlyAccess", id: "ANPAIZTJ4DXE7G6AGAE6M", version: "v3",
		description: "Provides read only access to all buckets via the AWS Management Console.",
		document:    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","s3:Describe*","s3-object-lambda:Get*","s3-object-lambda:List*"],"Resource":"*"}]}`,
		created:     time.Date(2015, 2, 6, 18, 40, 59, 0, time.UTC),
	},
	{
		name: "IAMReadOnlyAccess", id: "ANPAJKSO7NDY4T57MWDSQ", version: "v4",
		description: "Provides read only access to IAM via the AWS Management Console.",
		document:    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GenerateCredentialReport","iam:GenerateServiceLastAccessedDetails","iam:Get*","iam:List*","iam:SimulateCustomPolicy","iam:SimulatePrincipalPolicy"],"Resource":"*"}]}`,
		created:     time.Date(2015, 2, 6, 18, 40, 44, 0, time.UTC),
	},
}

// managedCatalog holds the AWS managed policies by ARN.
var managedCatalog = func() map[string]*managedPolicy {
	m := map[string]*managedPolicy{}
	for _, p := range awsManagedPolicies {
		doc, err := policy.Parse(p.document, policy.Identity)
		if err != nil {
			panic("built-in managed policy " + p.name + ": " + err.Error())
		}
		mp := &managedPolicy{
			Name: p.name, Path: "/", ID: p.id, Description: p.description,
			DefaultVersion: p.version, CreateDate: p.created, UpdateDate: p.created, AWSManaged: true,
			Versions: []policyVersion{{ID: p.version, Document: p.document, CreateDate: p.created, doc: doc}},
		}
		m[mp.arn("")] = mp
	}
	return m
}()
