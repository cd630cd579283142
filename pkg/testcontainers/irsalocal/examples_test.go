package irsalocal_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/testcontainers/testcontainers-go"

	"github.com/irsa-local/irsa-local/pkg/testcontainers/irsalocal"
)

// A role trusting one service account, assumed with that service
// account's token, as a pod's SDK does through IRSA.
func ExampleRun() {
	ctx := context.Background()
	ctr, err := irsalocal.Run(ctx, irsalocal.DefaultImage)
	defer func() {
		if err := testcontainers.TerminateContainer(ctr); err != nil {
			log.Printf("terminate irsa-local: %v", err)
		}
	}()
	if err != nil {
		log.Printf("run irsa-local: %v", err)
		return
	}

	admin, err := ctr.AWSConfig(ctx)
	if err != nil {
		log.Print(err)
		return
	}
	provider, err := ctr.OIDCProviderARN(ctx)
	if err != nil {
		log.Print(err)
		return
	}
	issuer := provider[strings.Index(provider, "/")+1:]
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
	  "Principal":{"Federated":"` + provider + `"},
	  "Action":"sts:AssumeRoleWithWebIdentity",
	  "Condition":{"StringEquals":{"` + issuer + `:sub":"system:serviceaccount:shop:cart",
	                               "` + issuer + `:aud":"sts.amazonaws.com"}}}]}`
	role, err := iam.NewFromConfig(admin).CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("cart"), AssumeRolePolicyDocument: aws.String(trust),
	})
	if err != nil {
		log.Print(err)
		return
	}

	pod, err := ctr.WebIdentityAWSConfig(ctx, aws.ToString(role.Role.Arn), "shop", "cart")
	if err != nil {
		log.Print(err)
		return
	}
	who, err := sts.NewFromConfig(pod).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		log.Print(err)
		return
	}
	arn := aws.ToString(who.Arn)
	fmt.Println(arn[:strings.LastIndex(arn, "/")])

	// Output:
	// arn:aws:sts::000000000000:assumed-role/cart
}
