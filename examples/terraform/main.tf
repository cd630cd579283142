# Walkthrough step 1 as code: register the cluster's issuer as an IAM OIDC
# provider, create a role that one service account may assume, give it
# AmazonS3ReadOnlyAccess, and create a bucket for it to read.

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
  # IAM names a provider by the issuer's host and path, without a port: AWS
  # says provider URLs carry none. irsa-local's issuer listens on a port of
  # its own, so it is registered without it; Terraform compares the URL IAM
  # reads back with this one, and tokens naming the port still match.
  provider_url = replace(data.aws_eks_cluster.this.identity[0].oidc[0].issuer, "/^(https://[^/:]+):[0-9]+/", "$1")

  # The prefix of the trust policy's condition keys.
  issuer = trimprefix(local.provider_url, "https://")
}

resource "aws_iam_openid_connect_provider" "this" {
  url             = local.provider_url
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = var.thumbprints
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
  name               = var.role_name
  assume_role_policy = data.aws_iam_policy_document.trust.json
}

resource "aws_iam_role_policy_attachment" "s3_read_only" {
  role       = aws_iam_role.this.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
}

resource "aws_s3_bucket" "this" {
  bucket        = var.bucket_name
  force_destroy = true
}
