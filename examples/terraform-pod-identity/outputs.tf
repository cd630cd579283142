output "association_id" {
  description = "The association's ID (a-…)."
  value       = aws_eks_pod_identity_association.app.association_id
}

output "association_arn" {
  description = "The association's ARN."
  value       = aws_eks_pod_identity_association.app.association_arn
}

output "role_arn" {
  description = "The role the service account's pods act as."
  value       = aws_iam_role.app.arn
}
