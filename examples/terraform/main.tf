# Walkthrough step 1 as code, written the way EKS guides write it: register
# the cluster's issuer as an IAM OIDC provider, create a role that one
# service account may assume, give it AmazonS3ReadOnlyAccess, and create a
# bucket for it to read, whose policy also lets the role upload.

provider "aws" {
  region     = "us-east-1"
  access_key = "test"
  secret_key = "test"

  # Buckets are addressed as <endpoint>/<bucket>, not <bucket>.<host>.
  s3_use_path_style = true

  endpoints {
    eks = var.endpoint
    iam = var.endpoint
    s3  = var.endpoint
    sts = var.endpoint
  }
}

data "aws_eks_cluster" "this" {
  name = var.cluster_name
}

locals {
  # The issuer exactly as describe-cluster reports it, and its condition-key
  # prefix: the URL without "https://".
  issuer_url = data.aws_eks_cluster.this.identity[0].oidc[0].issuer
  issuer     = trimprefix(local.issuer_url, "https://")
}

resource "aws_iam_openid_connect_provider" "this" {
  url             = local.issuer_url
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = var.thumbprints
  tags            = var.tags
}

data "aws_iam_policy_document" "trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.this.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:sub"
      values   = ["system:serviceaccount:${var.namespace}:${var.service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = var.role_name
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 7200
  tags                 = var.tags
}

resource "aws_iam_role_policy_attachment" "s3_read_only" {
  role       = aws_iam_role.this.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
}

resource "aws_s3_bucket" "this" {
  bucket        = var.bucket_name
  force_destroy = true
  tags          = var.tags
}

# The role reads with AmazonS3ReadOnlyAccess; the bucket's own policy also
# lets it upload under uploads/.
data "aws_iam_policy_document" "bucket" {
  statement {
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.this.arn}/uploads/*"]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.this.arn]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json
}
