// Package trail is irsa-local's audit trail: one CloudTrail-shaped JSON
// record per STS call, S3 call and IAM write, with an extension field that
// holds irsa-local's authorization decision and the reason for it. Records
// are appended to a JSON-lines file; Read and Follow give them back.
package trail

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/irsa-local/irsa-local/internal/rotfile"
)

// Record is one event, in CloudTrail's field names, plus IrsaLocal.
type Record struct {
	EventVersion       string         `json:"eventVersion"`
	EventTime          time.Time      `json:"eventTime"`
	EventSource        string         `json:"eventSource"`
	EventName          string         `json:"eventName"`
	AWSRegion          string         `json:"awsRegion"`
	SourceIPAddress    string         `json:"sourceIPAddress"`
	UserAgent          string         `json:"userAgent"`
	UserIdentity       UserIdentity   `json:"userIdentity"`
	RequestParameters  map[string]any `json:"requestParameters"`
	ResponseElements   map[string]any `json:"responseElements"`
	ErrorCode          string         `json:"errorCode,omitempty"`
	ErrorMessage       string         `json:"errorMessage,omitempty"`
	RequestID          string         `json:"requestID"`
	EventID            string         `json:"eventID"`
	ReadOnly           bool           `json:"readOnly"`
	EventType          string         `json:"eventType"`
	ManagementEvent    bool           `json:"managementEvent"`
	RecipientAccountID string         `json:"recipientAccountId"`
	EventCategory      string         `json:"eventCategory"`
	// Resources are the ARNs the call acted on.
	Resources []Resource `json:"resources,omitempty"`
	// IrsaLocal is irsa-local's extension: the decision and why.
	IrsaLocal *Decision `json:"irsaLocal,omitempty"`
}

// Resource is one element of CloudTrail's resources list.
type Resource struct {
	ARN string `json:"ARN"`
}

// UserIdentity is CloudTrail's userIdentity element.
type UserIdentity struct {
	Type             string          `json:"type"`
	PrincipalID      string          `json:"principalId,omitempty"`
	ARN              string          `json:"arn,omitempty"`
	AccountID        string          `json:"accountId,omitempty"`
	AccessKeyID      string          `json:"accessKeyId,omitempty"`
	UserName         string          `json:"userName,omitempty"`
	IdentityProvider string          `json:"identityProvider,omitempty"`
	SessionContext   *SessionContext `json:"sessionContext,omitempty"`
}

// SessionContext describes the role session behind a call.
type SessionContext struct {
	SessionIssuer       SessionIssuer        `json:"sessionIssuer"`
	WebIDFederationData *WebIDFederationData `json:"webIdFederationData,omitempty"`
	Attributes          SessionAttributes    `json:"attributes"`
	// SourceIdentity is the session's source identity, as CloudTrail
	// records it.
	SourceIdentity string `json:"sourceIdentity,omitempty"`
	// Chain (irsa-local's extension) lists the links before this session,
	// the origin first: the web identity or account root that started the
	// role chain and every role session that assumed a role since.
	Chain []Hop `json:"chain,omitempty"`
	// SessionTags (irsa-local's extension) are the session's tags; the
	// transitive ones are listed in TransitiveTagKeys.
	SessionTags       map[string]string `json:"sessionTags,omitempty"`
	TransitiveTagKeys []string          `json:"transitiveTagKeys,omitempty"`
}

// Hop is one earlier link of a role chain.
type Hop struct {
	// Type is "WebIdentity", "PodIdentity", "AssumedRole" or "Root".
	Type string `json:"type"`
	// ARN is the OIDC provider's, the Pod Identity association's, the role
	// session's or the root's.
	ARN string `json:"arn"`
	// Subject is the token's subject (system:serviceaccount:NS:SA).
	Subject string `json:"subject,omitempty"`
	// Pod is "namespace/name" of the pod a Pod Identity session is for.
	Pod string `json:"pod,omitempty"`
}

// SessionIssuer is the role a session belongs to.
type SessionIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

// WebIDFederationData names the identity provider of a web identity session.
type WebIDFederationData struct {
	FederatedProvider string            `json:"federatedProvider"`
	Attributes        map[string]string `json:"attributes"`
}

// SessionAttributes are the session's creation date and MFA flag.
type SessionAttributes struct {
	CreationDate     time.Time `json:"creationDate"`
	MFAAuthenticated string    `json:"mfaAuthenticated"`
}

// Decision is irsa-local's extension of a record.
type Decision struct {
	// Decision is "allow" or "deny".
	Decision string `json:"decision"`
	// Reason says which statement decided, or which check or condition
	// failed and the value it saw.
	Reason string `json:"reason,omitempty"`
	// Checks are the authorizations the call needed, in the order they
	// were made, up to the first refused: what a least-privilege policy
	// must allow.
	Checks []Check `json:"checks,omitempty"`
}

// Check is one authorization of a call: an IAM action on a resource, and
// whether it was allowed.
type Check struct {
	Action   string `json:"action"`
	Resource string `json:"resource"`
	Allowed  bool   `json:"allowed"`
}

// Writer appends records to a JSON-lines file. When the file grows past its
// limit it is renamed to <path>.1 (replacing an older one) and a new file is
// started, so sustained load cannot fill the disk.
type Writer struct {
	f *rotfile.File
}

// DefaultLimit is the size at which a trail file is rotated.
const DefaultLimit = 64 << 20

// Open opens (creating) the trail file at path.
func Open(path string, limit int64) (*Writer, error) {
	f, err := rotfile.Open(path, limit)
	if err != nil {
		return nil, fmt.Errorf("open trail: %w", err)
	}
	return &Writer{f: f}, nil
}

// Write appends r as one line.
func (w *Writer) Write(r *Record) error {
	b := recordBufs.Get().(*bytes.Buffer)
	defer func() {
		if b.Cap() <= 64<<10 {
			recordBufs.Put(b)
		}
	}()
	b.Reset()
	// Encode ends the line with its newline; the record is written whole,
	// in one write, so concurrent writers never interleave.
	if err := json.NewEncoder(b).Encode(r); err != nil {
		return fmt.Errorf("marshal trail record: %w", err)
	}
	if _, err := w.f.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write trail: %w", err)
	}
	return nil
}

// recordBufs keeps the buffers records are encoded into.
var recordBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Close closes the file.
func (w *Writer) Close() error { return w.f.Close() }

// Read returns the records of the trail at path (its rotated part first)
// whose time is not before since. Lines that do not parse are skipped.
func Read(path string, since time.Time) ([]Record, error) {
	var out []Record
	for _, p := range []string{path + ".1", path} {
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("open trail: %w", err)
		}
		recs, err := scan(f, since)
		f.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	return out, nil
}

func scan(r io.Reader, since time.Time) ([]Record, error) {
	var out []Record
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64*1024), 4<<20)
	for s.Scan() {
		var rec Record
		if json.Unmarshal(s.Bytes(), &rec) != nil {
			continue
		}
		if !rec.EventTime.Before(since) {
			out = append(out, rec)
		}
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("read trail: %w", err)
	}
	return out, nil
}

// Follow calls fn for every record appended to the trail at path after the
// call, until ctx ends. It polls, which works across processes and survives
// rotation.
func Follow(ctx context.Context, path string, fn func(Record) error) error {
	return follow(ctx, path, fn, func() {})
}

// follow is Follow with a hook called once the starting point is taken:
// records written after that are delivered.
func follow(ctx context.Context, path string, fn func(Record) error, started func()) error {
	var offset int64
	if fi, err := os.Stat(path); err == nil {
		offset = fi.Size()
	}
	started()
	return poll(ctx, path, offset, fn)
}

// tailWindow bounds how much of the trail Tail reads back: the newest
// records of a trail that may have grown to its rotation limit.
const tailWindow = 1 << 20

// Tail calls fn for the newest records of the trail at path (up to n, and
// only from its last MiB), oldest first, then for every record appended
// after them, until ctx ends: a live view that starts with recent history
// and misses nothing written in between.
func Tail(ctx context.Context, path string, n int, fn func(Record) error) error {
	var offset int64
	f, err := os.Open(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("open trail: %w", err)
	default:
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return fmt.Errorf("stat trail: %w", err)
		}
		offset = fi.Size()
		from := max(offset-tailWindow, 0)
		b := make([]byte, offset-from)
		_, err = f.ReadAt(b, from)
		f.Close()
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read trail: %w", err)
		}
		if from > 0 {
			// The window starts inside a line: drop its tail.
			if i := bytes.IndexByte(b, '\n'); i >= 0 {
				b = b[i+1:]
			}
		}
		recs, err := scan(bytes.NewReader(b), time.Time{})
		if err != nil {
			return err
		}
		if len(recs) > n {
			recs = recs[len(recs)-n:]
		}
		for _, r := range recs {
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return poll(ctx, path, offset, fn)
}

// poll delivers the records written to path past offset, every 200 ms,
// until ctx ends.
func poll(ctx context.Context, path string, offset int64, fn func(Record) error) error {
	var partial []byte
	for {
		fi, err := os.Stat(path)
		if err == nil {
			if fi.Size() < offset {
				offset = 0 // rotated
				partial = nil
			}
			if fi.Size() > offset {
				f, err := os.Open(path)
				if err != nil {
					return fmt.Errorf("open trail: %w", err)
				}
				if _, err := f.Seek(offset, io.SeekStart); err != nil {
					f.Close()
					return fmt.Errorf("seek trail: %w", err)
				}
				b, err := io.ReadAll(f)
				f.Close()
				if err != nil {
					return fmt.Errorf("read trail: %w", err)
				}
				offset += int64(len(b))
				partial = append(partial, b...)
				for {
					i := bytes.IndexByte(partial, '\n')
					if i < 0 {
						break
					}
					var rec Record
					if json.Unmarshal(partial[:i], &rec) == nil {
						if err := fn(rec); err != nil {
							return err
						}
					}
					partial = partial[i+1:]
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}
