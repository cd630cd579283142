variable "endpoint" {
  description = "irsa-local's AWS endpoint: `irsa-local status -o json | jq -r .aws.endpoint`."
  type        = string
}

variable "cluster_name" {
  description = "The EKS cluster whose issuer the provider registers: irsa-local's environment name."
  type        = string
  default     = "irsa-local"
}

variable "namespace" {
  description = "Namespace of the service account the role trusts."
  type        = string
  default     = "default"
}

variable "service_account" {
  description = "Name of the service account the role trusts."
  type        = string
  default     = "s3-reader"
}

variable "role_name" {
  description = "Name of the IAM role the service account assumes."
  type        = string
  default     = "s3-reader"
}

variable "bucket_name" {
  description = "Name of the S3 bucket the role may read."
  type        = string
  default     = "irsa-local-demo"
}

variable "thumbprints" {
  description = "SHA-1 thumbprints (40 hex digits) of the issuer's CA. Optional: IAM no longer requires one (see README.md for why not tls_certificate)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags of the provider, the role and the bucket."
  type        = map(string)
  default     = { "app" = "s3-reader", "managed-by" = "terraform" }
}
