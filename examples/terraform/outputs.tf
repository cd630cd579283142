output "oidc_provider_arn" {
  value = aws_iam_openid_connect_provider.this.arn
}

output "role_arn" {
  value = aws_iam_role.this.arn
}

output "bucket" {
  value = aws_s3_bucket.this.bucket
}
