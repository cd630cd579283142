package e2e

import (
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The chain spec's names: the pod of payments/reports has role
// reports-app in the default account, which may assume role data of the
// shared-data account 111111111111, whose bucket shared-data grants data
// GetObject only for sessions tagged team=payments.
const (
	chainNamespace = "payments"
	chainSA        = "reports"
	chainAppRole   = "reports-app"
	chainAccount   = "111111111111"
	chainBucket    = "shared-data"
	chainDataRole  = "arn:aws:iam::" + chainAccount + ":role/data"
)

// chainReader is e2e/images/chain-reader, built next to the binary under
// test.
func chainReader() string { return filepath.Join(filepath.Dir(binary), "chain-reader") }

// chainEnvironment is the environment file of the chain spec.
const chainEnvironment = `apiVersion: irsa-local.dev/v1alpha1
kind: Environment
roles:
  - name: reports-app
    trust: {serviceAccount: {namespace: payments, name: reports}}
    inlinePolicies:
      - name: assume-data
        document:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: [sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity]
              Resource: arn:aws:iam::111111111111:role/data
serviceAccounts: [{namespace: payments, name: reports, role: reports-app}]
accounts:
  - id: "111111111111"
    roles:
      - name: data
        trust:
          policy:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Principal: {AWS: arn:aws:iam::000000000000:role/reports-app}
                Action: [sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity]
      - name: unshared
        trust:
          policy:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Principal: {AWS: arn:aws:iam::111111111111:root}
                Action: sts:AssumeRole
    buckets:
      - name: shared-data
        objects: [{key: report.csv, content: q3 figures}]
        policy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Principal: {AWS: arn:aws:iam::111111111111:role/data}
              Action: s3:GetObject
              Resource: arn:aws:s3:::shared-data/*
              Condition: {StringEquals: {"aws:PrincipalTag/team": payments}}
`

// chainProfiles writes, inside the pod, the AWS config a pod's config file
// would hold for a chain: profile pod is the web identity the webhook
// injected, profile data assumes data from it (role_arn + source_profile),
// as the AWS CLI and boto3 document; then it selects profile data.
const chainProfiles = `set -e
cfg="$(mktemp)"
cat >"$cfg" <<CONFIG
[profile pod]
role_arn = $AWS_ROLE_ARN
web_identity_token_file = $AWS_WEB_IDENTITY_TOKEN_FILE
[profile data]
role_arn = ` + chainDataRole + `
source_profile = pod
role_session_name = cli-hop
CONFIG
export AWS_CONFIG_FILE="$cfg" AWS_PROFILE=data
unset AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE
`

var _ = Describe("role chaining with the AWS CLI and boto3", Label("local"), func() {
	It("reaches the other account's role through a profile chain", func() {
		requireCluster()
		w := newWorld()
		w.must("up")
		w.must("apply", "-f", w.writeFile("chain.yaml", chainEnvironment))
		exec := func(script string) result {
			return w.cmd(binary, nil, "exec", "-n", chainNamespace, "--service-account", chainSA, "--", "sh", "-c", chainProfiles+script)
		}
		cli := exec(`aws sts get-caller-identity --query Arn --output text; aws s3api get-object --bucket ` + chainBucket + ` --key report.csv /dev/null || true`)
		Expect(cli.code).To(Equal(0), cli.stderr)
		Expect(cli.stdout).To(ContainSubstring("arn:aws:sts::" + chainAccount + ":assumed-role/data/cli-hop"))
		// The profile passes no session tag: the bucket policy's condition
		// on aws:PrincipalTag/team fails.
		Expect(cli.stderr).To(ContainSubstring("AccessDenied"))

		py := exec(`python3 -c '
import boto3
print(boto3.client("sts").get_caller_identity()["Arn"])
'`)
		Expect(py.code).To(Equal(0), py.stderr)
		Expect(py.stdout).To(ContainSubstring("arn:aws:sts::" + chainAccount + ":assumed-role/data/cli-hop"))

		// The trail shows the hops the profile chain made.
		Expect(w.must("trail")).To(ContainSubstring("sts:AssumeRole by arn:aws:sts::000000000000:assumed-role/" + chainAppRole + "/"))
	})
})
