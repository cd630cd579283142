variable "endpoint" {
  description = "irsa-local's AWS endpoint (irsa-local status: AWS endpoint)."
  type        = string
}

variable "cluster_name" {
  description = "The environment's EKS cluster (aws eks list-clusters)."
  type        = string
}

variable "namespace" {
  description = "Namespace of the service account."
  type        = string
}

variable "service_account" {
  description = "The service account whose pods get the role."
  type        = string
}

variable "role_name" {
  description = "Name of the role to create."
  type        = string
}

variable "bucket" {
  description = "The bucket whose <namespace>/ prefix the role may read."
  type        = string
}
