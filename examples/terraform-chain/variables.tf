variable "endpoint" {
  description = "irsa-local's AWS endpoint (irsa-local status: AWS endpoint)."
  type        = string
}

variable "web_identity_role_arn" {
  description = "The service account's role, assumed with its token."
  type        = string
}

variable "web_identity_token_file" {
  description = "The service account's projected token."
  type        = string
}

variable "role_arn" {
  description = "The role of the other account that the first role assumes."
  type        = string
}

variable "bucket" {
  description = "A bucket of the other account that the assumed role may write."
  type        = string
}
