package envdir

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Admin is what an admin call needs of an AWS endpoint: where it is, and
// the admin credentials it signs with.
type Admin struct {
	Endpoint, Region, AccessKeyID, SecretAccessKey string
}

// AdminCall calls the admin API (/_irsa-local/...) of the AWS endpoint in
// info: in, when not nil, is sent as JSON; the JSON answer is decoded into
// out. The call is signed with SigV4 and the environment's admin
// credentials, as the endpoint requires for everything but its health
// check.

func AdminCall(ctx context.Context, info Admin, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("encode admin request: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, info.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build admin request: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: info.AccessKeyID, SecretAccessKey: info.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "irsa-local", info.Region, time.Now()); err != nil {
		return fmt.Errorf("sign admin request: %w", err)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("reach the AWS endpoint: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		if json.NewDecoder(resp.Body).Decode(&e) != nil || e.Error == "" {
			return fmt.Errorf("admin API %s %s: %s", method, path, resp.Status)
		}
		return errors.New(e.Error)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("read admin response: %w", err)
	}
	return nil
}
