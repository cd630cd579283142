package doctor

import (
	"context"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EKS Pod Identity: for a service account with an association, the chain
// is association → webhook (container credentials, a token for
// pods.eks.amazonaws.com) → agent → eks-auth (the role's trust in
// pods.eks.amazonaws.com with sts:TagSession) → permissions of the pod's
// session, with its six session tags.

// PodIdentityAudience is the audience of Pod Identity tokens.
const PodIdentityAudience = "pods.eks.amazonaws.com"

// AgentDaemonSet is where the Pod Identity agent runs on a cluster with
// nodes, as the EKS add-on installs it.
const AgentDaemonSet = "eks-pod-identity-agent"

// PodIdentityQuestion is what Target.PodIdentityHook is asked: what eks-auth
// answers a pod of Namespace/ServiceAccount, and, when Action is set, how a
// call with its credentials is decided.
type PodIdentityQuestion struct {
	Namespace, ServiceAccount string
	Action, Resource          string
}

// PodIdentityVerdict is the answer. Association is "" when the service
// account has none; then nothing else is set.
type PodIdentityVerdict struct {
	Association, AssociationRole, TargetRole string
	Allowed                                  bool
	Code, Message, Reason                    string
	// RoleARN is the role of the pod's credentials.
	RoleARN    string
	Permission *GatewayVerdict
}

// podIdentity looks the association up (from the service-account check),
// so the checks after it follow the Pod Identity chain.
func (r *runner) lookupAssociation(ctx context.Context) {
	t := r.t
	if t.PodIdentityHook == nil || t.ServiceAccount == "" {
		return
	}
	v, err := t.PodIdentityHook(ctx, PodIdentityQuestion{Namespace: t.Namespace, ServiceAccount: t.ServiceAccount, Action: t.Action, Resource: t.Resource})
	if err != nil || v.Association == "" {
		return
	}
	r.pod = &v
}

// agent checks that a Pod Identity agent can serve the pod: the add-on's
// DaemonSet ready on every node, or, on a cluster without nodes,
// irsa-local exec's own.
func (r *runner) agent(ctx context.Context) Check {
	t := r.t
	switch {
	case r.pod == nil:
		return skip(CheckAgent, "no Pod Identity association (IRSA needs no agent)")
	case r.client == nil:
		return skip(CheckAgent, "no cluster")
	}
	ds, err := r.client.AppsV1().DaemonSets("kube-system").Get(ctx, AgentDaemonSet, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err) && t.LocalAgent:
		return ok(CheckAgent, "this cluster has no nodes: irsa-local exec serves the agent on a loopback port for each command, and eks-auth answers")
	case apierrors.IsNotFound(err):
		return fail(CheckAgent, "no "+AgentDaemonSet+" DaemonSet in kube-system: nothing answers on 169.254.170.23, so pods get no credentials",
			"install the agent: aws eks create-addon --cluster-name CLUSTER --addon-name eks-pod-identity-agent")
	case err != nil:
		return fail(CheckAgent, fmt.Sprintf("get DaemonSet kube-system/%s: %v", AgentDaemonSet, err), "allow the caller to get daemonsets in kube-system")
	}
	if !daemonSetReady(ds) {
		return fail(CheckAgent, fmt.Sprintf("DaemonSet kube-system/%s has %d of %d pods ready", AgentDaemonSet, ds.Status.NumberReady, ds.Status.DesiredNumberScheduled),
			"kubectl -n kube-system describe daemonset "+AgentDaemonSet+" and its pods' logs say why")
	}
	return ok(CheckAgent, fmt.Sprintf("DaemonSet kube-system/%s is ready on %d node(s), answering on 169.254.170.23:80", AgentDaemonSet, ds.Status.NumberReady))
}

func daemonSetReady(ds *appsv1.DaemonSet) bool {
	return ds.Status.DesiredNumberScheduled > 0 && ds.Status.NumberReady == ds.Status.DesiredNumberScheduled
}

// podIdentityTrust is the trust-policy check of the Pod Identity chain:
// what eks-auth would answer, with why.
func (r *runner) podIdentityTrust() Check {
	v := r.pod
	role := roleName(v.AssociationRole)
	if v.Allowed {
		what := "pods.eks.amazonaws.com may assume " + v.AssociationRole
		if v.TargetRole != "" {
			what += ", and that role " + v.TargetRole
		}
		return ok(CheckTrustPolicy, what+": "+v.Reason)
	}
	detail := fmt.Sprintf("eks-auth refuses the pod: %s: %s (%s)", v.Code, v.Message, v.Reason)
	if strings.Contains(v.Reason, "could not assume the target role") {
		return fail(CheckTrustPolicy, detail, assumeFix(v.AssociationRole, v.TargetRole, refusedSide(v.Reason))+
			"\nthe target role's trust may also match sts:ExternalId (the association's externalId) and aws:RequestTag/kubernetes-namespace")
	}
	stmt := `{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}`
	return fail(CheckTrustPolicy, detail,
		"add this statement to the trust policy of role "+role+", keeping the statements it has (EKS Pod Identity needs both actions):\n"+
			"  "+stmt+"\n"+
			"for example, if it has none other: aws iam update-assume-role-policy --role-name "+role+` --policy-document '{"Version":"2012-10-17","Statement":[`+strings.ReplaceAll(stmt, " ", "")+`]}'`)
}

// refusedSide tells from a refusal's reason which side of a hop refused.
func refusedSide(reason string) string {
	if strings.Contains(reason, "trust policy does not allow") {
		return "trust"
	}
	return "caller"
}

// podIdentityPermissions is the permissions check for the pod's session.
func (r *runner) podIdentityPermissions() Check {
	t := r.t
	v := r.pod
	switch {
	case !v.Allowed:
		return skip(CheckPermissions, "the pod gets no credentials (see "+CheckTrustPolicy+")")
	case v.Permission == nil:
		return fail(CheckPermissions, "the AWS endpoint gave no verdict on "+t.Action, r.awsFix())
	}
	return gatewayCheck(GatewayQuestion{RoleARN: v.RoleARN, Action: t.Action, Resource: t.Resource}, *v.Permission)
}

// associationFix is the command that creates an association.
func associationFix(cluster, ns, sa string) string {
	if cluster == "" {
		cluster = "CLUSTER"
	}
	return fmt.Sprintf("aws eks create-pod-identity-association --cluster-name %s --namespace %s --service-account %s --role-arn ROLE_ARN", cluster, ns, sa)
}
