# A role chain as Terraform runs it from a pod: the provider takes the
# service account's web identity role, assumes a role of another account
# on top of it (with a transitive session tag), and manages a resource
# there. Every hop is checked as STS checks it; the trail shows the chain.

provider "aws" {
  region = "us-east-1"

  # The pod's web identity: the role the service account may assume.
  assume_role_with_web_identity {
    role_arn                = var.web_identity_role_arn
    web_identity_token_file = var.web_identity_token_file
    session_name            = "terraform-pod"
  }

  # The second hop, into the other account.
  assume_role {
    role_arn            = var.role_arn
    session_name        = "terraform"
    tags                = { team = "payments" }
    transitive_tag_keys = ["team"]
  }

  s3_use_path_style = true

  endpoints {
    iam = var.endpoint
    s3  = var.endpoint
    sts = var.endpoint
  }
}

data "aws_caller_identity" "current" {}

resource "aws_s3_object" "report" {
  bucket  = var.bucket
  key     = "terraform/report.csv"
  content = "written by terraform through the chain\n"
}
