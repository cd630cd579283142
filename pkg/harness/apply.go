package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/irsa-local/irsa-local/internal/engine"
)

// EnvironmentFile describes the world a workshop or a test suite needs:
// roles and their policies, buckets and objects, queues, tables, secrets
// and parameters (these need a backend), namespaces and annotated service
// accounts. `irsa-local apply -f`, `irsa-local up -f` and
// Env.Apply read it and create what is missing, idempotently.
type EnvironmentFile struct {
	APIVersion      string               `json:"apiVersion"`
	Kind            string               `json:"kind"`
	Policies        []ManagedPolicySpec  `json:"policies,omitempty"`
	Roles           []RoleSpec           `json:"roles,omitempty"`
	Buckets         []BucketSpec         `json:"buckets,omitempty"`
	Queues          []QueueSpec          `json:"queues,omitempty"`
	Tables          []TableSpec          `json:"tables,omitempty"`
	Secrets         []SecretSpec         `json:"secrets,omitempty"`
	Parameters      []ParameterSpec      `json:"parameters,omitempty"`
	Namespaces      []string             `json:"namespaces,omitempty"`
	ServiceAccounts []ServiceAccountSpec `json:"serviceAccounts,omitempty"`
	// Accounts are other AWS accounts of the environment and what they
	// hold; everything above belongs to the default account.
	Accounts []AccountSpec `json:"accounts,omitempty"`
	// PodIdentityAssociations are EKS Pod Identity associations of the
	// environment's cluster, applied after every account's roles.
	PodIdentityAssociations []PodIdentityAssociationSpec `json:"podIdentityAssociations,omitempty"`
}

// PodIdentityAssociationSpec maps a service account to a role through EKS
// Pod Identity. Role names a role of the default account (of this file or
// any), RoleARN any; TargetRoleARN, a role the association's role assumes
// next (in another account, typically).
type PodIdentityAssociationSpec struct {
	Namespace          string            `json:"namespace"`
	ServiceAccount     string            `json:"serviceAccount"`
	Role               string            `json:"role,omitempty"`
	RoleARN            string            `json:"roleArn,omitempty"`
	TargetRoleARN      string            `json:"targetRoleArn,omitempty"`
	DisableSessionTags bool              `json:"disableSessionTags,omitempty"`
	Policy             Document          `json:"policy,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
}

// AccountSpec is another AWS account of the environment: its 12-digit ID
// and its policies, roles, buckets and backend resources. Its roles trust
// by policy (a role of the default account, a session tag, ...): the
// environment's OIDC provider is registered in the default account.
type AccountSpec struct {
	ID         string              `json:"id"`
	Policies   []ManagedPolicySpec `json:"policies,omitempty"`
	Roles      []RoleSpec          `json:"roles,omitempty"`
	Buckets    []BucketSpec        `json:"buckets,omitempty"`
	Queues     []QueueSpec         `json:"queues,omitempty"`
	Tables     []TableSpec         `json:"tables,omitempty"`
	Secrets    []SecretSpec        `json:"secrets,omitempty"`
	Parameters []ParameterSpec     `json:"parameters,omitempty"`
}

// file is the account's part as an environment file of its own.
func (a AccountSpec) file() *EnvironmentFile {
	return &EnvironmentFile{APIVersion: EnvironmentFileAPIVersion, Kind: EnvironmentFileKind,
		Policies: a.Policies, Roles: a.Roles, Buckets: a.Buckets, Queues: a.Queues, Tables: a.Tables, Secrets: a.Secrets, Parameters: a.Parameters}
}

// EnvironmentFileAPIVersion and EnvironmentFileKind identify the format.
const (
	EnvironmentFileAPIVersion = "irsa-local.dev/v1alpha1"
	EnvironmentFileKind       = "Environment"
)

// ManagedPolicySpec is a customer managed policy.
type ManagedPolicySpec struct {
	Name     string   `json:"name"`
	Document Document `json:"document"`
}

// RoleSpec is an IAM role. Trust names whom it trusts.
type RoleSpec struct {
	Name  string    `json:"name"`
	Trust TrustSpec `json:"trust"`
	// ManagedPolicies are ARNs (arn:aws:iam::aws:policy/… or the account's)
	// or names of policies of this file.
	ManagedPolicies    []string           `json:"managedPolicies,omitempty"`
	InlinePolicies     []InlinePolicySpec `json:"inlinePolicies,omitempty"`
	MaxSessionDuration int32              `json:"maxSessionDuration,omitempty"`
}

// TrustSpec is either a service account (the EKS-standard trust policy;
// name "*" trusts the whole namespace), EKS Pod Identity (the service
// principal pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession)
// or a full trust policy.
type TrustSpec struct {
	ServiceAccount *ServiceAccountRef `json:"serviceAccount,omitempty"`
	PodIdentity    bool               `json:"podIdentity,omitempty"`
	Policy         Document           `json:"policy,omitempty"`
}

// PodIdentityTrustPolicy is the trust policy EKS documents for a Pod
// Identity role.
const PodIdentityTrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`

// ServiceAccountRef names a service account.
type ServiceAccountRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// InlinePolicySpec is a role's inline policy.
type InlinePolicySpec struct {
	Name     string   `json:"name"`
	Document Document `json:"document"`
}

// BucketSpec is an S3 bucket with an optional bucket policy and objects.
type BucketSpec struct {
	Name    string       `json:"name"`
	Policy  Document     `json:"policy,omitempty"`
	Objects []ObjectSpec `json:"objects,omitempty"`
}

// ObjectSpec is an object with literal content.
type ObjectSpec struct {
	Key     string `json:"key"`
	Content string `json:"content"`
}

// ServiceAccountSpec is a Kubernetes service account, annotated with the
// role it may assume: Role names a role of this file (or any role by name),
// RoleARN any role.
type ServiceAccountSpec struct {
	Namespace   string            `json:"namespace"`
	Name        string            `json:"name"`
	Role        string            `json:"role,omitempty"`
	RoleARN     string            `json:"roleArn,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Document is a policy document written either as YAML/JSON structure or as
// a string of JSON.
type Document string

// UnmarshalJSON accepts a JSON string (kept verbatim) or any JSON value
// (re-encoded compactly).
func (d *Document) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*d = Document(s)
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	out, err := json.Marshal(v)
	if err != nil {
		return err
	}
	*d = Document(out)
	return nil
}

// LoadEnvironmentFile reads and checks an environment file. Unknown fields
// are errors, so a typo is not silently ignored.
func LoadEnvironmentFile(path string) (*EnvironmentFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read environment file: %w", err)
	}
	var f EnvironmentFile
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		return nil, fmt.Errorf("parse environment file %s: %w", path, err)
	}
	if err := f.validate(); err != nil {
		return nil, fmt.Errorf("check environment file %s: %w", path, err)
	}
	return &f, nil
}

func (f *EnvironmentFile) validate() error {
	if f.APIVersion != EnvironmentFileAPIVersion || f.Kind != EnvironmentFileKind {
		return fmt.Errorf("want apiVersion %s and kind %s, found %q and %q", EnvironmentFileAPIVersion, EnvironmentFileKind, f.APIVersion, f.Kind)
	}
	for i, r := range f.Roles {
		if r.Name == "" {
			return fmt.Errorf("roles[%d] has no name", i)
		}
		n := 0
		for _, set := range []bool{r.Trust.ServiceAccount != nil, r.Trust.PodIdentity, r.Trust.Policy != ""} {
			if set {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("role %s: give exactly one of trust.serviceAccount, trust.podIdentity and trust.policy", r.Name)
		}
	}
	for i, b := range f.Buckets {
		if b.Name == "" {
			return fmt.Errorf("buckets[%d] has no name", i)
		}
	}
	if err := f.validateServices(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, a := range f.Accounts {
		if len(a.ID) != 12 || strings.Trim(a.ID, "0123456789") != "" {
			return fmt.Errorf("accounts[%d]: id %q is not a 12-digit account id", i, a.ID)
		}
		if seen[a.ID] {
			return fmt.Errorf("account %s appears twice", a.ID)
		}
		seen[a.ID] = true
		for _, r := range a.Roles {
			if r.Trust.ServiceAccount != nil {
				return fmt.Errorf("account %s: role %s: trust.serviceAccount needs the environment's OIDC provider, which is in the default account; trust a role of that account with trust.policy instead", a.ID, r.Name)
			}
		}
		if err := a.file().validate(); err != nil {
			return fmt.Errorf("account %s: %w", a.ID, err)
		}
	}
	for i, a := range f.PodIdentityAssociations {
		if a.Namespace == "" || a.ServiceAccount == "" {
			return fmt.Errorf("podIdentityAssociations[%d] needs a namespace and a serviceAccount", i)
		}
		if (a.Role == "") == (a.RoleARN == "") {
			return fmt.Errorf("pod identity association %s/%s: give exactly one of role and roleArn", a.Namespace, a.ServiceAccount)
		}
	}
	for i, sa := range f.ServiceAccounts {
		if sa.Namespace == "" || sa.Name == "" {
			return fmt.Errorf("serviceAccounts[%d] needs a namespace and a name", i)
		}
		if sa.Role != "" && sa.RoleARN != "" {
			return fmt.Errorf("service account %s/%s: give role or roleArn, not both", sa.Namespace, sa.Name)
		}
	}
	return nil
}

// Target is where an environment file is applied: an AWS endpoint with
// account-root credentials, and optionally a cluster.
type Target struct {
	AWS       aws.Config
	Kube      kubernetes.Interface
	AccountID string
	// TrustPolicy returns the EKS-standard trust policy for a service
	// account of the environment.
	TrustPolicy func(namespace, name string) string
	// ClusterName is the EKS cluster Pod Identity associations are
	// created on.
	ClusterName string
}

// Apply creates, idempotently, what f describes in the environment.
func (e *Env) Apply(ctx context.Context, f *EnvironmentFile) error {
	return Apply(ctx, Target{AWS: e.AdminAWSConfig(), Kube: e.Client(), AccountID: e.AWS().AccountID, TrustPolicy: e.TrustPolicyFor, ClusterName: e.ClusterName()}, f)
}

// Apply creates, idempotently, what f describes at t: what exists is
// brought in line (trust policies, attachments, inline policies, bucket
// policies, objects, annotations), nothing is deleted.
func Apply(ctx context.Context, t Target, f *EnvironmentFile) error {
	ic := iam.NewFromConfig(t.AWS)
	sc := s3.NewFromConfig(t.AWS, func(o *s3.Options) { o.UsePathStyle = true })
	policyARN := map[string]string{}
	for _, p := range f.Policies {
		arn := "arn:aws:iam::" + t.AccountID + ":policy/" + p.Name
		policyARN[p.Name] = arn
		_, err := ic.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(p.Name), PolicyDocument: aws.String(string(p.Document))})
		if IsAWSError(err, "EntityAlreadyExists") {
			_, err = ic.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(arn), PolicyDocument: aws.String(string(p.Document)), SetAsDefault: true})
			if IsAWSError(err, "LimitExceeded") {
				err = nil // unchanged in practice; five versions kept
			}
		}
		if err != nil {
			return fmt.Errorf("apply policy %s: %w", p.Name, err)
		}
	}
	for _, r := range f.Roles {
		if err := applyRole(ctx, ic, t, r, policyARN); err != nil {
			return err
		}
	}
	for _, b := range f.Buckets {
		if err := applyBucket(ctx, sc, b); err != nil {
			return err
		}
	}
	if err := applyServices(ctx, t.AWS, f); err != nil {
		return err
	}
	for _, a := range f.Accounts {
		// The account's root: its ID as the access key, any secret.
		cfg := t.AWS.Copy()
		cfg.Credentials = credentials.NewStaticCredentialsProvider(a.ID, DefaultSecretAccessKey, "")
		if err := Apply(ctx, Target{AWS: cfg, AccountID: a.ID}, a.file()); err != nil {
			return fmt.Errorf("account %s: %w", a.ID, err)
		}
	}
	for _, a := range f.PodIdentityAssociations {
		if err := applyAssociation(ctx, t, a); err != nil {
			return err
		}
	}
	if len(f.Namespaces) == 0 && len(f.ServiceAccounts) == 0 {
		return nil
	}
	if t.Kube == nil {
		return errors.New("apply namespaces and service accounts: the environment runs without a cluster (cluster mode none)")
	}
	for _, ns := range f.Namespaces {
		if err := engine.EnsureNamespace(ctx, t.Kube, ns); err != nil {
			return err
		}
	}
	for _, sa := range f.ServiceAccounts {
		if err := applyServiceAccount(ctx, t, sa); err != nil {
			return err
		}
	}
	return nil
}

func applyRole(ctx context.Context, ic *iam.Client, t Target, r RoleSpec, policyARN map[string]string) error {
	trust := string(r.Trust.Policy)
	if r.Trust.PodIdentity {
		trust = PodIdentityTrustPolicy
	}
	if r.Trust.ServiceAccount != nil {
		trust = t.TrustPolicy(r.Trust.ServiceAccount.Namespace, r.Trust.ServiceAccount.Name)
	}
	in := &iam.CreateRoleInput{RoleName: aws.String(r.Name), AssumeRolePolicyDocument: aws.String(trust)}
	if r.MaxSessionDuration != 0 {
		in.MaxSessionDuration = aws.Int32(r.MaxSessionDuration)
	}
	_, err := ic.CreateRole(ctx, in)
	if IsAWSError(err, "EntityAlreadyExists") {
		_, err = ic.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(r.Name), PolicyDocument: aws.String(trust)})
		if err == nil && r.MaxSessionDuration != 0 {
			_, err = ic.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String(r.Name), MaxSessionDuration: aws.Int32(r.MaxSessionDuration)})
		}
	}
	if err != nil {
		return fmt.Errorf("apply role %s: %w", r.Name, err)
	}
	for _, p := range r.ManagedPolicies {
		arn := p
		if a, ok := policyARN[p]; ok {
			arn = a
		} else if !strings.HasPrefix(p, "arn:") {
			arn = "arn:aws:iam::" + t.AccountID + ":policy/" + p
		}
		if _, err := ic.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(r.Name), PolicyArn: aws.String(arn)}); err != nil {
			return fmt.Errorf("apply role %s: attach %s: %w", r.Name, arn, err)
		}
	}
	for _, p := range r.InlinePolicies {
		if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(r.Name), PolicyName: aws.String(p.Name), PolicyDocument: aws.String(string(p.Document))}); err != nil {
			return fmt.Errorf("apply role %s: inline policy %s: %w", r.Name, p.Name, err)
		}
	}
	return nil
}

func applyBucket(ctx context.Context, sc *s3.Client, b BucketSpec) error {
	_, err := sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b.Name)})
	if err != nil && !IsAWSError(err, "BucketAlreadyOwnedByYou") && !IsAWSError(err, "BucketAlreadyExists") {
		return fmt.Errorf("apply bucket %s: %w", b.Name, err)
	}
	if b.Policy != "" {
		if _, err := sc.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b.Name), Policy: aws.String(string(b.Policy))}); err != nil {
			return fmt.Errorf("apply bucket %s: policy: %w", b.Name, err)
		}
	}
	for _, o := range b.Objects {
		if _, err := sc.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b.Name), Key: aws.String(o.Key), Body: strings.NewReader(o.Content)}); err != nil {
			return fmt.Errorf("apply bucket %s: object %s: %w", b.Name, o.Key, err)
		}
	}
	return nil
}

func applyServiceAccount(ctx context.Context, t Target, s ServiceAccountSpec) error {
	if err := engine.EnsureNamespace(ctx, t.Kube, s.Namespace); err != nil {
		return err
	}
	ann := map[string]string{}
	for k, v := range s.Annotations {
		ann[k] = v
	}
	switch {
	case s.RoleARN != "":
		ann[RoleARNAnnotation] = s.RoleARN
	case s.Role != "":
		ann[RoleARNAnnotation] = "arn:aws:iam::" + t.AccountID + ":role/" + url.PathEscape(s.Role)
	}
	sas := t.Kube.CoreV1().ServiceAccounts(s.Namespace)
	cur, err := sas.Get(ctx, s.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = sas.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, Annotations: ann}}, metav1.CreateOptions{})
	} else if err == nil {
		if cur.Annotations == nil {
			cur.Annotations = map[string]string{}
		}
		for k, v := range ann {
			cur.Annotations[k] = v
		}
		_, err = sas.Update(ctx, cur, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("apply service account %s/%s: %w", s.Namespace, s.Name, err)
	}
	return nil
}

// applyAssociation creates a Pod Identity association, or brings the
// existing one of the service account in line.
func applyAssociation(ctx context.Context, t Target, a PodIdentityAssociationSpec) error {
	if t.ClusterName == "" {
		return fmt.Errorf("apply pod identity association %s/%s: the environment has no EKS cluster", a.Namespace, a.ServiceAccount)
	}
	roleARN := a.RoleARN
	if roleARN == "" {
		roleARN = "arn:aws:iam::" + t.AccountID + ":role/" + a.Role
	}
	ec := eks.NewFromConfig(t.AWS)
	in := &eks.CreatePodIdentityAssociationInput{
		ClusterName: aws.String(t.ClusterName), Namespace: aws.String(a.Namespace), ServiceAccount: aws.String(a.ServiceAccount),
		RoleArn: aws.String(roleARN), DisableSessionTags: aws.Bool(a.DisableSessionTags), Tags: a.Tags,
	}
	if a.TargetRoleARN != "" {
		in.TargetRoleArn = aws.String(a.TargetRoleARN)
	}
	if a.Policy != "" {
		in.Policy = aws.String(string(a.Policy))
	}
	_, err := ec.CreatePodIdentityAssociation(ctx, in)
	if IsAWSError(err, "ResourceInUseException") {
		list, lerr := ec.ListPodIdentityAssociations(ctx, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String(t.ClusterName), Namespace: aws.String(a.Namespace), ServiceAccount: aws.String(a.ServiceAccount)})
		if lerr != nil || len(list.Associations) == 0 {
			return fmt.Errorf("apply pod identity association %s/%s: %w", a.Namespace, a.ServiceAccount, err)
		}
		_, err = ec.UpdatePodIdentityAssociation(ctx, &eks.UpdatePodIdentityAssociationInput{
			ClusterName: aws.String(t.ClusterName), AssociationId: list.Associations[0].AssociationId,
			RoleArn: in.RoleArn, TargetRoleArn: aws.String(a.TargetRoleARN), DisableSessionTags: in.DisableSessionTags, Policy: aws.String(string(a.Policy)),
		})
		if IsAWSError(err, "InvalidParameterException") && strings.Contains(err.Error(), "changes nothing") {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("apply pod identity association %s/%s: %w", a.Namespace, a.ServiceAccount, err)
	}
	return nil
}
