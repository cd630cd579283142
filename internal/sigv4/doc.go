// Package sigv4 verifies AWS Signature Version 4 on incoming HTTP requests,
// as IAM, STS, S3 and EKS do, for the single endpoint irsa-local serves them
// on. Parse reads a request's credential scope for routing; Verify checks the
// signature (Authorization header or presigned query), the time window, the
// session token through Credentials, and the body: literal payload hashes,
// and S3's aws-chunked uploads chunk by chunk. ToWire maps a failure to the
// code, status and message each service sends.
//
// # Computing signatures: the SDK's signer, and where it cannot be used
//
// Wherever it can reproduce what the client signed, the signature is
// recomputed with aws-sdk-go-v2's signer (aws/signer/v4), the one the Go
// clients sign with. The client's SignedHeaders list, not the server,
// decides what was signed, so Verify rebuilds a request holding exactly the
// signed headers
// with the values received (Host as received, including its port), the
// query as received, and the canonical URI as the client computed it, and
// hands it to Signer.SignHTTP, or Signer.PresignHTTP for query
// authentication, with DisableURIPathEscaping, DisableHeaderHoisting and
// DisableSessionToken so the signer adds nothing of its own. Signers are
// kept one per access key and secret: the signer caches derived keys by
// access key, region, service and day but not by secret, so a single shared
// one would go on accepting a key's old secret for the rest of the day
// after it changed. aws-chunked chunk signatures come from the SDK's
// v4.StreamSigner: a chunk is signed exactly as an event-stream message with
// no headers.
//
// The SDK signer applies its own rules to what it signs, and they differ
// from what some clients sign. It never signs Authorization, User-Agent,
// X-Amzn-Trace-Id, Expect or Transfer-Encoding (aws-sdk-java v1, for one,
// signs User-Agent); it signs Content-Length from Request.ContentLength and
// only when positive, so a signed "content-length:0" cannot be reproduced;
// it always signs X-Amz-Date, so it cannot verify requests dated by the
// Date header (which SigV4 allows when X-Amz-Date is absent, as in S3's own
// PUT example) or requests that sent X-Amz-Date without signing it. For
// those requests, and whenever the SignedHeaders the SDK reports differ from
// the client's (so a change in the SDK's rules degrades to the fallback, not
// to a rejection), Verify builds the canonical request itself from the
// client's list. Both paths share the inputs gathered once
// from the request; the tests hold both to AWS's published vectors and to
// each other over generated requests. Trailer signatures of aws-chunked
// uploads are computed here too, since the SDK has no helper for them.
//
// # What is signed
//
// The canonical URI is taken from the request line exactly as received, not
// from r.URL, whose re-encoding may spell "~" or UTF-8 differently from the
// client. S3 signs that path without a second encoding; a client that sends
// a character raw ("+", UTF-8) but escapes it when signing is accepted too,
// while escapes on the wire are never decoded, so "a%2Fb" cannot stand in
// for a signed "a/b". Other services encode the path once more,
// and AWS's own signers also normalise it (dot segments, repeated slashes),
// which aws-sdk-go-v2 does not; both are accepted. Every accepted form
// names the same decoded path, the one the handler acts on.
//
// The query is signed as the handler will parse it: a query string Go
// cannot parse is refused rather than signed over values nobody sees, and
// the authentication parameters of a presigned URL may each appear once.
// For S3, every x-amz-* header must be signed (ErrUnsignedHeaders), as S3
// requires, since S3 acts on them. The session token, in the header or the
// query, is passed to Credentials, which decides whether it belongs to the
// key, including for long-term keys that take none.
//
// The time window is AWS's: X-Amz-Date within 15 minutes of now for header
// authentication; for presigned URLs, X-Amz-Expires of at most 604800
// seconds, not yet past, and not signed more than 15 minutes in the future.
// Signatures are compared in constant time. Only AWS4-HMAC-SHA256 is
// verified: Signature Version 2 (which botocore still presigns S3 URLs with
// unless configured for s3v4) and SigV4A are refused as ErrMalformed, with
// S3's "not supported" text.
//
// Bodies the signature covers by hash are held in memory up to 32 MiB; a
// larger S3 body is checked as the handler reads it, a larger body for the
// other services is refused. Signed aws-chunked chunks are held whole (up to
// 16 MiB each) until their signature is checked. HTTP/1.1 and HTTP/2
// requests are handled alike.
//
// Verify never writes a response: the caller maps the error's Kind to its
// service's wire error with ToWire, whose documentation has the table.
package sigv4
