// Command chain-reader is the e2e suites' workload for role chaining: an
// unmodified aws-sdk-go-v2 application that takes the pod's web identity
// session (the SDK's default chain), assumes a role of another account on
// top of it with stscreds.AssumeRoleProvider, passing a transitive session
// tag and a source identity, and reads one object with the second hop's
// session. It prints "caller: ARN" and "object: CONTENT", or "error: ..."
// and exits 1.
//
// Usage: chain-reader ROLE_ARN BUCKET KEY TEAM SOURCE_IDENTITY
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

func main() {
	if len(os.Args) != 6 {
		fmt.Fprintln(os.Stderr, "usage: chain-reader ROLE_ARN BUCKET KEY TEAM SOURCE_IDENTITY")
		os.Exit(2)
	}
	role, bucket, key, team, source := os.Args[1], os.Args[2], os.Args[3], os.Args[4], os.Args[5]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryMaxAttempts(1))
	if err != nil {
		fail("load AWS config", err)
	}
	hop := cfg.Copy()
	hop.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), role, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = "chain-reader"
		o.Tags = []ststypes.Tag{{Key: aws.String("team"), Value: aws.String(team)}}
		o.TransitiveTagKeys = []string{"team"}
		o.SourceIdentity = aws.String(source)
	}))
	id, err := sts.NewFromConfig(hop).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		fail("assume "+role, err)
	}
	fmt.Println("caller:", aws.ToString(id.Arn))
	out, err := s3.NewFromConfig(hop, func(o *s3.Options) { o.UsePathStyle = true }).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		fail("get s3://"+bucket+"/"+key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		fail("read s3://"+bucket+"/"+key, err)
	}
	fmt.Println("object:", string(b))
}

func fail(what string, err error) {
	fmt.Println("error:", what+":", err)
	os.Exit(1)
}
