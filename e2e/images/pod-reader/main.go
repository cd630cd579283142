// Command pod-reader is the e2e suites' workload for EKS Pod Identity: an
// unmodified aws-sdk-go-v2 application whose default credential chain
// finds whatever the pod identity webhook injected (the container
// credentials of an association, or a web identity), prints who it runs
// as and reads one object. It prints "caller: ARN" and "object: CONTENT",
// or "error: ..." and exits 1.
//
// Usage: pod-reader BUCKET KEY
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: pod-reader BUCKET KEY")
		os.Exit(2)
	}
	bucket, key := os.Args[1], os.Args[2]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryMaxAttempts(1))
	if err != nil {
		fail("load AWS config", err)
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		fail("get caller identity", err)
	}
	fmt.Println("caller:", aws.ToString(id.Arn))
	out, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
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
	fmt.Fprintln(os.Stderr, "error:", what+":", err)
	os.Exit(1)
}
