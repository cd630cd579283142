// Command irsa-local runs EKS IAM Roles for Service Accounts locally.
package main

import "github.com/irsa-local/irsa-local/internal/cmd/app"

func main() { app.Main() }
