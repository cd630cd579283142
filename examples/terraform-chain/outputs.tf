output "caller_arn" {
  description = "Who the provider acts as: a session of the assumed role."
  value       = data.aws_caller_identity.current.arn
}
