package policy

import "fmt"

// MalformedError reports a policy document that AWS would refuse: IAM with
// the MalformedPolicyDocument error code, S3 (for Kind Resource) with
// MalformedPolicy.
type MalformedError struct {
	// Message is the text AWS puts in the error's <Message>. Several distinct
	// problems share one AWS text, notably "Syntax errors in policy.", so
	// Message alone does not always say what is wrong.
	Message string
	// Detail names the exact problem and where it is. AWS does not return
	// it; it is for people and for the doctor command.
	Detail string
	// Statement is the index of the offending statement, or -1 when the
	// problem is in the document as a whole.
	Statement int
}

func (e *MalformedError) Error() string {
	if e.Detail == "" {
		return "malformed policy document: " + e.Message
	}
	return "malformed policy document: " + e.Message + " (" + e.Detail + ")"
}

// problem identifies one reason a document is refused. The same problem gets
// different AWS wording from IAM and from S3, see awsMessage.
type problem int

const (
	pInvalidJSON problem = iota
	pUnknownField
	pBadType
	pBadVersion
	pNoStatement
	pNoEffect
	pBadEffect
	pEffectCase
	pBothActions
	pBothResources
	pBothPrincipals
	pUnknownOperator
	pBadConditionValue
	pBadDateValue
	pSidFormat
	pSidDuplicate
	pPrincipalForbidden
	pPrincipalMissing
	pPrincipalInvalid
	pNoActions
	pNoResources
	pResourceProhibited
	pNotResourceProhibited
	pResourceFormat
	pActionNoVendor
	pActionColons
	pActionVendorWildcard
	pResourceVendorWildcard
	pActionVendorInvalid
)

// AWS texts, and where each comes from:
//
//	observed: seen verbatim in AWS responses quoted in public bug reports
//	modelled: the text of an AWS emulator's validator that was written
//	          against real IAM answers (moto); not seen in a capture
//	chosen:   no AWS text found; written for irsa-local in AWS's style
const (
	// observed (boto/boto3#180, aws-cloudformation/cfn-lint#3751); modelled
	// for unknown fields, bad Version, an unknown condition operator and
	// both Action and NotAction in one statement.
	iamSyntax = "Syntax errors in policy."
	// observed as a text; its use for a wrongly cased Effect and for an
	// unparsable date is modelled.
	iamLegacy = "The policy failed legacy parsing"
	// observed (hashicorp/terraform#13449).
	iamPrincipalForbidden = "Policy document should not specify a principal."
	// observed (terraform-aws-modules/terraform-aws-iam#47, for a trust
	// policy statement without Principal).
	iamTrustNoPrincipal = "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed in policy has a statement with no principals!"
	// observed shape: `Invalid principal in policy: "AWS":"arn:..."`.
	iamPrincipalInvalid = "Invalid principal in policy: %s"
	// observed (aws/aws-cdk#7615).
	iamNoActions = "Policy statement must contain actions."
	// observed (trussworks/terraform-aws-s3-anti-virus#28).
	iamNoResources = "Policy statement must contain resources."
	// observed (hashicorp/terraform#34231).
	iamResourceProhibited = "Has prohibited field Resource"
	// chosen, by analogy with the Resource text.
	iamNotResourceProhibited = "Has prohibited field NotResource"
	// modelled.
	iamResourceFormat = `Resource %s must be in ARN format or "*".`
	// chosen, in IAM's wording for wildcards in an action's vendor.
	iamResourceVendorWildcard = "Resource vendor must be fully qualified and cannot contain regexes."
	// modelled.
	iamActionNoVendor = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
	// observed (garnaat/kappa#111).
	iamActionColons = "Actions/Condition can contain only one colon."
	// observed as quoted in a third-party validator's change description.
	iamActionVendorWildcard = "Action vendors (e.g., aws, ec2, etc.) must not contain wildcards"
	// modelled.
	iamActionVendorInvalid = "Vendor %s is not valid"
	// observed (aws-cloudformation/cfn-lint#1376).
	iamSidFormat = "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
	// modelled.
	iamSidDuplicate = "Statement IDs (SID) in a single policy must be unique."

	// S3 PutBucketPolicy texts.
	// observed (aws/aws-cli#2779).
	s3InvalidJSON = "Policies must be valid JSON and the first byte must be '{'"
	// observed (humanmade/S3-Uploads#191).
	s3MissingField = "Missing required field %s"
	// observed (cloud-custodian/cloud-custodian#4948, without a suffix).
	s3PrincipalInvalid = "Invalid principal in policy"
	// observed (aws-samples/aws-serverless-appsync-app#4).
	s3ResourceInvalid = "Policy has invalid resource"
	// observed as quoted in an S3-compatible gateway's issue (versity/versitygw#650).
	s3ActionInvalid = "Policy has invalid action"
	// observed as quoted in versity/versitygw#647.
	s3EffectInvalid = "Invalid effect: %s"
	// chosen: S3's wording for other grammar errors was not found.
	s3Syntax = "Invalid policy syntax."
	// chosen, in the style of "Missing required field".
	s3UnknownField = "Unknown field %s"
)

// awsMessage returns the text AWS would put in <Message> for p in a document
// of kind k; arg is the offending value where the text quotes it.
func awsMessage(k Kind, p problem, arg string) string {
	if k == Resource {
		return s3Message(p, arg)
	}
	switch p {
	case pEffectCase, pBadDateValue:
		return iamLegacy
	case pSidFormat:
		return iamSidFormat
	case pSidDuplicate:
		return iamSidDuplicate
	case pPrincipalForbidden:
		return iamPrincipalForbidden
	case pPrincipalMissing:
		return iamTrustNoPrincipal
	case pPrincipalInvalid:
		return fmt.Sprintf(iamPrincipalInvalid, arg)
	case pNoActions:
		return iamNoActions
	case pNoResources:
		return iamNoResources
	case pResourceProhibited:
		return iamResourceProhibited
	case pNotResourceProhibited:
		return iamNotResourceProhibited
	case pResourceFormat:
		return fmt.Sprintf(iamResourceFormat, arg)
	case pResourceVendorWildcard:
		return iamResourceVendorWildcard
	case pActionNoVendor:
		return iamActionNoVendor
	case pActionColons:
		return iamActionColons
	case pActionVendorWildcard:
		return iamActionVendorWildcard
	case pActionVendorInvalid:
		return fmt.Sprintf(iamActionVendorInvalid, arg)
	}
	return iamSyntax
}

func s3Message(p problem, arg string) string {
	switch p {
	case pInvalidJSON:
		return s3InvalidJSON
	case pUnknownField:
		return fmt.Sprintf(s3UnknownField, arg)
	case pNoStatement:
		return fmt.Sprintf(s3MissingField, "Statement")
	case pNoEffect:
		return fmt.Sprintf(s3MissingField, "Effect")
	case pBadEffect, pEffectCase:
		return fmt.Sprintf(s3EffectInvalid, arg)
	case pPrincipalMissing:
		return fmt.Sprintf(s3MissingField, "Principal")
	case pPrincipalInvalid:
		return s3PrincipalInvalid
	case pNoActions:
		return fmt.Sprintf(s3MissingField, "Action")
	case pNoResources:
		return fmt.Sprintf(s3MissingField, "Resource")
	case pResourceFormat, pResourceVendorWildcard:
		return s3ResourceInvalid
	case pActionNoVendor, pActionColons, pActionVendorWildcard, pActionVendorInvalid:
		return s3ActionInvalid
	}
	return s3Syntax
}
