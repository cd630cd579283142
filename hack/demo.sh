#!/usr/bin/env bash
# The main job on the embedded defaults, offline: the whole IRSA chain on a
# local cluster. It starts an environment (issuer, AWS endpoint, etcd,
# kube-apiserver, kube-controller-manager, pod identity webhook), sets up the
# walkthrough's role, service account and bucket with the AWS CLI and
# kubectl, runs `aws s3 ls` as the test pod, shows a refused write (and,
# with moto_server as the backend, a refused SQS SendMessage) and the audit
# trail explaining them, then stops. Runs in a scratch IRSA_LOCAL_HOME
# unless one is set.
source "$(dirname "$0")/lib.sh"
# Never silent: each preparation step says what it does before it starts
# (a cold machine spends minutes here).
echo "demo: checking Debian packages and Go modules (downloads on first use)"
hack/ci-deps.sh >/dev/null
echo "demo: compiling irsa-local (about two minutes on 2 cores the first time)"
hack/build.sh
echo "demo: installing the Kubernetes binaries into bin/k8s (release binaries, else a source build)"
hack/k8s-assets.sh
export KUBEBUILDER_ASSETS="${REPO_ROOT}/bin/k8s"
bin="${REPO_ROOT}/bin/irsa-local"
kubectl="${KUBEBUILDER_ASSETS}/kubectl"
work="$(mktemp -d)"
if [[ -z "${IRSA_LOCAL_HOME:-}" ]]; then
  IRSA_LOCAL_HOME="${work}/home"
  export IRSA_LOCAL_HOME
fi
trap '"${bin}" down >/dev/null 2>&1 || true; rm -rf "${work}"' EXIT
cd "${work}" || exit

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "irsa-local up"
"${bin}" up

export AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION KUBECONFIG
AWS_ENDPOINT_URL="$("${bin}" status -o json | jq -r .aws.endpoint)"
AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
KUBECONFIG="$("${bin}" status -o json | jq -r .cluster.kubeconfig)"
unset AWS_PROFILE AWS_SESSION_TOKEN
account="$("${bin}" status -o json | jq -r .aws.accountId)"
provider="$("${bin}" status -o json | jq -r .issuer.url | sed 's#https://##')"

step "curl the issuer's discovery document, trusting only the environment CA"
curl -fsS --cacert "$("${bin}" status -o json | jq -r .issuer.caFile)" \
  "$("${bin}" status -o json | jq -r .issuer.url)/.well-known/openid-configuration" | jq -c .

step "aws iam create-role --role-name s3-reader --assume-role-policy-document file://trust-policy.json"
cat > trust-policy.json <<JSON
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Principal": {"Federated": "arn:aws:iam::${account}:oidc-provider/${provider}"},
  "Action": "sts:AssumeRoleWithWebIdentity",
  "Condition": {"StringEquals": {"${provider}:sub": "system:serviceaccount:demo:s3-reader"}}}]}
JSON
aws iam create-role --role-name s3-reader --assume-role-policy-document file://trust-policy.json --query Role.Arn --output text
aws iam attach-role-policy --role-name s3-reader --policy-arn arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess
aws s3 mb s3://demo-bucket
echo "hello from irsa-local" | aws s3 cp - s3://demo-bucket/hello.txt

step "kubectl apply -f service-account.yaml"
"${kubectl}" create namespace demo
cat > service-account.yaml <<YAML
apiVersion: v1
kind: ServiceAccount
metadata:
  name: s3-reader
  namespace: demo
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::${account}:role/s3-reader
YAML
"${kubectl}" apply -f service-account.yaml

step "irsa-local exec -f s3-test-pod.yaml -- aws s3 ls s3://demo-bucket"
cat > s3-test-pod.yaml <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: s3-reader
  namespace: demo
spec:
  serviceAccountName: s3-reader
  containers:
  - name: aws-cli
    image: amazon/aws-cli
    command: ["/bin/sh", "-c"]
    args: ["aws s3 ls s3://demo-bucket --region us-east-1"]
YAML
"${bin}" exec -f s3-test-pod.yaml -- aws s3 ls s3://demo-bucket
"${bin}" exec -f s3-test-pod.yaml -- aws sts get-caller-identity --query Arn --output text

step "least privilege: the read-only role cannot write"
if "${bin}" exec -f s3-test-pod.yaml -- aws s3 cp trust-policy.json s3://demo-bucket/nope.json; then
  echo "demo: the write was allowed; it must not be" >&2
  exit 1
fi

# Beyond S3, when up found moto_server to store the data: the same role
# has no SQS grant, and the gateway refuses its SendMessage.
if [[ "$("${bin}" status -o json | jq -r '.backend.kind // "none"')" != none ]]; then
  step "beyond S3: the role may not send to a queue"
  queue="$(aws sqs create-queue --queue-name orders --endpoint-url "${AWS_ENDPOINT_URL}" --query QueueUrl --output text)"
  if "${bin}" exec -f s3-test-pod.yaml -- aws sqs send-message --endpoint-url "${AWS_ENDPOINT_URL}" --queue-url "${queue}" --message-body "order 42"; then
    echo "demo: the SendMessage was allowed; it must not be" >&2
    exit 1
  fi
fi

step "irsa-local trail"
"${bin}" trail | tail -n 6

step "irsa-local down"
"${bin}" down
echo
echo "demo: OK"
