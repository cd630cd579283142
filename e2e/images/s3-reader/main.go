// Command s3-reader is the e2e suites' test workload for kind clusters: an
// unmodified AWS SDK client, as an application in a pod would be. It takes
// its credentials, region, endpoint and CA bundle from the environment the
// pod identity webhook injects, prints the identity it runs as, then lists
// a bucket. It exits 1 on the first error, printing it as the SDK reports
// it.
//
// It stands in for the amazon/aws-cli image of the walkthrough where no
// registry is reachable, and is built into a FROM-scratch image.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: s3-reader BUCKET")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(bucket string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS config: %w", err)
	}
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return fmt.Errorf("get caller identity: %w", err)
	}
	fmt.Println("identity:", aws.ToString(who.Arn))
	out, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).
		ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		return fmt.Errorf("list s3://%s: %w", bucket, err)
	}
	for _, o := range out.Contents {
		fmt.Printf("%s\t%d\n", aws.ToString(o.Key), aws.ToInt64(o.Size))
	}
	return nil
}
