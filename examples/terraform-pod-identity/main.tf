# EKS Pod Identity as code, the way EKS guides write it: a role that the Pod
# Identity service principal may assume (with sts:TagSession, for the six
# session tags EKS sets), an ABAC policy that gives each namespace its own
# prefix of a bucket, and the association of one service account with the
# role.

provider "aws" {
  region     = "us-east-1"
  access_key = "test"
  secret_key = "test"

  s3_use_path_style = true

  endpoints {
    eks = var.endpoint
    iam = var.endpoint
    s3  = var.endpoint
    sts = var.endpoint
  }
}

data "aws_iam_policy_document" "trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "app" {
  name               = var.role_name
  assume_role_policy = data.aws_iam_policy_document.trust.json
}

data "aws_iam_policy_document" "own_prefix" {
  statement {
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["arn:aws:s3:::${var.bucket}/$${aws:PrincipalTag/kubernetes-namespace}/*"]
  }
}

resource "aws_iam_role_policy" "own_prefix" {
  name   = "own-prefix"
  role   = aws_iam_role.app.id
  policy = data.aws_iam_policy_document.own_prefix.json
}

resource "aws_eks_pod_identity_association" "app" {
  cluster_name    = var.cluster_name
  namespace       = var.namespace
  service_account = var.service_account
  role_arn        = aws_iam_role.app.arn
  tags            = { managed-by = "terraform" }
}
