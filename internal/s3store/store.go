// Package s3store is the filesystem storage behind irsa-local's S3: a
// gofakes3.Backend that treats object keys as the opaque strings S3 says
// they are.
//
// A key never becomes a path. Each object is one file named by the SHA-256
// of its key, inside its bucket's directory, so "../other/x", "a" next to
// "a/b", "x//y", "x/./y" and keys with NUL bytes are all distinct objects of
// the bucket they were written to. The file holds the content followed by a
// trailer (the key, size, MD5 and metadata, then the trailer's length and a
// magic string), so content starts at offset 0 and range reads are seeks.
//
// Every write goes to a temporary file that is synced and renamed over the
// object only once the whole declared body has arrived and the body's
// reader has reported a clean end (which is where signed and MD5-checked
// bodies report a mismatch). An aborted upload, a short body or kill -9
// leaves the previous version intact, and readers holding the old file keep
// reading it whole.
package s3store

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"

	"github.com/irsa-local/irsa-local/internal/fsutil"
)

const (
	// magic ends every object file; it names the format's version.
	magic = "irsa-local-s3-object-v1\n"
	// maxTrailer bounds a trailer read back from disk: a key of 1,024
	// bytes, S3's 2 KB of user metadata and the system headers fit easily.
	maxTrailer = 64 << 10
	bucketFile = "bucket.json"
	objectsDir = "objects"
)

// trailer is what an object file records about its content. The key is
// kept as bytes (base64 in JSON): S3 keys are not always valid UTF-8, and
// JSON would replace what is not.
type trailer struct {
	Key      string            `json:"-"`
	RawKey   []byte            `json:"key"`
	Size     int64             `json:"size"`
	MD5      string            `json:"md5"`
	Modified time.Time         `json:"modified"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// entry is the index's view of one object.
type entry struct {
	size     int64
	hash     []byte
	modified time.Time
}

type bucket struct {
	created time.Time
	objects map[string]entry
}

// Store keeps buckets under <dir>/buckets/<name>/ and an in-memory index of
// their objects, rebuilt from the object files when the store opens.
type Store struct {
	root string // <dir>/buckets
	tmp  string // <dir>/tmp: same filesystem, so renames are atomic
	now  func() time.Time

	mu      sync.RWMutex
	buckets map[string]*bucket
}

var _ gofakes3.Backend = (*Store)(nil)

// Open opens (creating when missing) the store in dir. Temporary files
// left by an earlier process that died mid-write are removed.
func Open(dir string) (*Store, error) {
	s := &Store{
		root:    filepath.Join(dir, "buckets"),
		tmp:     filepath.Join(dir, "tmp"),
		now:     time.Now,
		buckets: map[string]*bucket{},
	}
	if err := os.RemoveAll(s.tmp); err != nil {
		return nil, fmt.Errorf("clear S3 temporary files: %w", err)
	}
	for _, d := range []string{s.root, s.tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create S3 storage directory: %w", err)
		}
	}
	dirs, err := os.ReadDir(s.root)
	if err != nil {
		return nil, fmt.Errorf("read S3 storage: %w", err)
	}
	for _, d := range dirs {
		if !d.IsDir() || gofakes3.ValidateBucketName(d.Name()) != nil {
			continue
		}
		b, err := s.load(d.Name())
		if err != nil {
			return nil, err
		}
		if b != nil {
			s.buckets[d.Name()] = b
		}
	}
	return s, nil
}

// load reads a bucket's creation date and indexes its objects from their
// trailers. A file that is not a whole object (it cannot be one written by
// this package, whose writes are atomic) is skipped rather than failing
// every listing of the bucket. A directory without its bucket file is what
// a crash part-way through creating or deleting a bucket leaves: it is no
// bucket (nil), and is removed.
func (s *Store) load(name string) (*bucket, error) {
	dir := filepath.Join(s.root, name)
	var meta struct {
		Created time.Time `json:"created"`
	}
	data, err := os.ReadFile(filepath.Join(dir, bucketFile))
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("remove half-made bucket %s: %w", name, err)
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read bucket %s: %w", name, err)
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		return nil, fmt.Errorf("read bucket %s: %w", name, err)
	}
	b := &bucket{created: meta.Created, objects: map[string]entry{}}
	files, err := os.ReadDir(filepath.Join(dir, objectsDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read bucket %s: %w", name, err)
	}
	for _, f := range files {
		t, err := readTrailerFile(filepath.Join(dir, objectsDir, f.Name()))
		if err != nil || f.Name() != fileName(t.Key) {
			continue
		}
		b.objects[t.Key] = entry{size: t.Size, hash: mustHex(t.MD5), modified: t.Modified}
	}
	return b, nil
}

// fileName is the object file of key: keys never reach the filesystem.
func fileName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

func (s *Store) objectPath(bucketName, key string) string {
	return filepath.Join(s.root, bucketName, objectsDir, fileName(key))
}

// lookup returns a bucket; the caller holds s.mu. Names that are not valid
// bucket names are never looked up on disk.
func (s *Store) lookup(name string) (*bucket, error) {
	if b := s.buckets[name]; b != nil {
		return b, nil
	}
	return nil, gofakes3.BucketNotFound(name)
}

// exists is lookup under the read lock, for callers that need only to know.
func (s *Store) exists(name string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, err := s.lookup(name)
	return err
}

// ListBuckets lists the buckets in name order.
func (s *Store) ListBuckets() ([]gofakes3.BucketInfo, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]gofakes3.BucketInfo, 0, len(s.buckets))
	for name, b := range s.buckets {
		out = append(out, gofakes3.BucketInfo{Name: name, CreationDate: gofakes3.NewContentTime(b.created)})
	}
	slices.SortFunc(out, func(a, b gofakes3.BucketInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// ListBucket lists the objects of a bucket in key order (UTF-8 binary
// order, as S3 lists), grouping by the prefix's delimiter and paging after
// page.Marker.
func (s *Store) ListBucket(name string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	if prefix == nil {
		prefix = &gofakes3.Prefix{}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, err := s.lookup(name)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(b.objects))
	for k := range b.objects {
		if page.Marker == "" || k > page.Marker {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	list := gofakes3.NewObjectList()
	var match gofakes3.PrefixMatch
	var lastPrefix string
	var count int64
	for i, k := range keys {
		if !prefix.Match(k, &match) {
			continue
		}
		if match.CommonPrefix {
			if match.MatchedPart == lastPrefix {
				continue
			}
			list.AddPrefix(match.MatchedPart)
			lastPrefix = match.MatchedPart
		} else {
			e := b.objects[k]
			list.Add(&gofakes3.Content{
				Key:          k,
				LastModified: gofakes3.NewContentTime(e.modified),
				ETag:         gofakes3.FormatETag(e.hash),
				Size:         e.size,
				StorageClass: gofakes3.StorageStandard,
			})
		}
		count++
		if page.MaxKeys > 0 && count >= page.MaxKeys {
			list.NextMarker = k
			list.IsTruncated = i+1 < len(keys)
			break
		}
	}
	return list, nil
}

// CreateBucket creates a bucket; the name must be a valid bucket name.
func (s *Store) CreateBucket(name string) error {
	if err := gofakes3.ValidateBucketName(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets[name] != nil {
		return gofakes3.ResourceError(gofakes3.ErrBucketAlreadyExists, name)
	}
	dir := filepath.Join(s.root, name)
	if err := os.MkdirAll(filepath.Join(dir, objectsDir), 0o700); err != nil {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	created := s.now().UTC()
	data, _ := json.Marshal(map[string]time.Time{"created": created})
	if err := fsutil.WriteFileAtomic(filepath.Join(dir, bucketFile), data, 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	s.buckets[name] = &bucket{created: created, objects: map[string]entry{}}
	return nil
}

// BucketExists reports whether a bucket exists.
func (s *Store) BucketExists(name string) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.buckets[name] != nil, nil
}

// DeleteBucket deletes an empty bucket.
func (s *Store) DeleteBucket(name string) error {
	return s.deleteBucket(name, false)
}

// ForceDeleteBucket deletes a bucket and its objects.
func (s *Store) ForceDeleteBucket(name string) error {
	return s.deleteBucket(name, true)
}

func (s *Store) deleteBucket(name string, force bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.lookup(name)
	if err != nil {
		return err
	}
	if !force && len(b.objects) > 0 {
		return gofakes3.ResourceError(gofakes3.ErrBucketNotEmpty, name)
	}
	// The bucket's marker goes first: a crash part-way through leaves a
	// directory that Open no longer takes for a bucket, never a bucket
	// with some of its objects.
	dir := filepath.Join(s.root, name)
	if err := os.Remove(filepath.Join(dir, bucketFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete bucket %s: %w", name, err)
	}
	delete(s.buckets, name)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("delete bucket %s: %w", name, err)
	}
	return nil
}

// HeadObject returns an object's size, hash and metadata.
func (s *Store) HeadObject(bucketName, key string) (*gofakes3.Object, error) {
	f, t, err := s.open(bucketName, key)
	if err != nil {
		return nil, err
	}
	_ = f.Close()
	return t.object(nil, noContent{}), nil
}

// GetObject returns an object, or the part of it the range asks for. The
// content is read from the file opened here, so a concurrent overwrite or
// delete never mixes two versions.
func (s *Store) GetObject(bucketName, key string, rangeRequest *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	f, t, err := s.open(bucketName, key)
	if err != nil {
		return nil, err
	}
	rng, err := rangeRequest.Range(t.Size)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	start, length := int64(0), t.Size
	if rng != nil {
		start, length = rng.Start, rng.Length
	}
	return t.object(rng, &section{SectionReader: io.NewSectionReader(f, start, length), f: f}), nil
}

// open opens the file of an object and reads its trailer.
func (s *Store) open(bucketName, key string) (*os.File, *trailer, error) {
	if err := s.exists(bucketName); err != nil {
		return nil, nil, err
	}
	f, err := os.Open(s.objectPath(bucketName, key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, gofakes3.KeyNotFound(key)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open object: %w", err)
	}
	t, err := readTrailer(f)
	if err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	if t.Key != key {
		// A SHA-256 collision, or a file that is not this object's.
		_ = f.Close()
		return nil, nil, gofakes3.KeyNotFound(key)
	}
	return f, t, nil
}

func (t *trailer) object(rng *gofakes3.ObjectRange, contents io.ReadCloser) *gofakes3.Object {
	meta := make(map[string]string, len(t.Metadata))
	for k, v := range t.Metadata {
		meta[k] = v
	}
	return &gofakes3.Object{
		Name: t.Key, Metadata: meta, Size: t.Size, Hash: mustHex(t.MD5),
		Range: rng, Contents: contents,
	}
}

// PutObject stores exactly size bytes of input under key, replacing any
// object there only once the whole body has arrived.
func (s *Store) PutObject(bucketName, key string, meta map[string]string, input io.Reader, size int64, conditions *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	if err := s.exists(bucketName); err != nil {
		return gofakes3.PutObjectResult{}, err
	}
	tmp, t, err := s.writeTemp(key, meta, input, size)
	if err != nil {
		return gofakes3.PutObjectResult{}, err
	}
	defer os.Remove(tmp) // a no-op once renamed
	return gofakes3.PutObjectResult{}, s.commit(bucketName, tmp, t, conditions)
}

// CopyObject copies an object (within or across buckets) with meta as the
// new object's metadata.
func (s *Store) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	f, src, err := s.open(srcBucket, srcKey)
	if err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	defer f.Close()
	if err := s.exists(dstBucket); err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	tmp, t, err := s.writeTemp(dstKey, meta, io.NewSectionReader(f, 0, src.Size), src.Size)
	if err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	defer os.Remove(tmp)
	if err := s.commit(dstBucket, tmp, t, nil); err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	return gofakes3.CopyObjectResult{ETag: gofakes3.FormatETag(mustHex(t.MD5)), LastModified: gofakes3.NewContentTime(t.Modified)}, nil
}

// writeTemp writes an object file to a temporary file and returns its
// path; the caller removes it if it is not committed.
func (s *Store) writeTemp(key string, meta map[string]string, input io.Reader, size int64) (path string, t *trailer, err error) {
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return "", nil, fmt.Errorf("create object file: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close object file: %w", cerr)
		}
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	h := md5.New()
	n, err := io.CopyN(io.MultiWriter(f, h), input, size)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", nil, err
	}
	if n < size {
		return "", nil, gofakes3.ErrIncompleteBody
	}
	// Read on to the end: a signed or MD5-checked body reports a mismatch
	// there, and a body longer than declared is as wrong as a short one.
	if extra, err := io.Copy(io.Discard, io.LimitReader(input, 1)); err != nil {
		return "", nil, err
	} else if extra > 0 {
		return "", nil, gofakes3.ErrIncompleteBody
	}
	t = &trailer{Key: key, Size: size, MD5: hex.EncodeToString(h.Sum(nil)), Modified: s.now().UTC(), Metadata: meta}
	if err := writeTrailer(f, t); err != nil {
		return "", nil, fmt.Errorf("write object file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return "", nil, fmt.Errorf("sync object file: %w", err)
	}
	return f.Name(), t, nil
}

// commit renames a written object file over the object, checking the put
// conditions against the object it replaces under the same lock.
func (s *Store) commit(bucketName, tmp string, t *trailer, conditions *gofakes3.PutConditions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.lookup(bucketName) // it may have been deleted meanwhile
	if err != nil {
		return err
	}
	if conditions != nil {
		old, ok := b.objects[t.Key]
		if err := gofakes3.CheckPutConditions(conditions, &gofakes3.ConditionalObjectInfo{Exists: ok, Hash: old.hash}); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, s.objectPath(bucketName, t.Key)); err != nil {
		return fmt.Errorf("store object: %w", err)
	}
	b.objects[t.Key] = entry{size: t.Size, hash: mustHex(t.MD5), modified: t.Modified}
	return nil
}

// DeleteObject deletes an object; deleting a missing key succeeds, as in
// S3.
func (s *Store) DeleteObject(bucketName, key string) (gofakes3.ObjectDeleteResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.lookup(bucketName)
	if err != nil {
		return gofakes3.ObjectDeleteResult{}, err
	}
	return gofakes3.ObjectDeleteResult{}, s.remove(b, bucketName, key)
}

// DeleteMulti deletes several objects, reporting each one.
func (s *Store) DeleteMulti(bucketName string, keys ...string) (gofakes3.MultiDeleteResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var res gofakes3.MultiDeleteResult
	b, err := s.lookup(bucketName)
	if err != nil {
		return res, err
	}
	for _, k := range keys {
		if err := s.remove(b, bucketName, k); err != nil {
			res.Error = append(res.Error, gofakes3.ErrorResult{Key: k, Code: gofakes3.ErrInternal, Message: gofakes3.ErrInternal.Message()})
			continue
		}
		res.Deleted = append(res.Deleted, gofakes3.ObjectID{Key: k})
	}
	return res, nil
}

// remove deletes an object's file; the caller holds s.mu.
func (s *Store) remove(b *bucket, bucketName, key string) error {
	if err := os.Remove(s.objectPath(bucketName, key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete object: %w", err)
	}
	delete(b.objects, key)
	return nil
}

// ---- object files

// writeTrailer appends t, its length and the magic string.
func writeTrailer(w io.Writer, t *trailer) error {
	t.RawKey = []byte(t.Key)
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	_, err = w.Write(slices.Concat(data, n[:], []byte(magic)))
	return err
}

func readTrailerFile(path string) (*trailer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readTrailer(f)
}

var errNotObject = errors.New("not an object file")

// readTrailer reads the trailer at the end of an object file and checks
// that it describes exactly the bytes before it.
func readTrailer(f *os.File) (*trailer, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat object file: %w", err)
	}
	tail := int64(4 + len(magic))
	if fi.Size() < tail {
		return nil, errNotObject
	}
	end := make([]byte, tail)
	if _, err := f.ReadAt(end, fi.Size()-tail); err != nil {
		return nil, fmt.Errorf("read object file: %w", err)
	}
	if !bytes.Equal(end[4:], []byte(magic)) {
		return nil, errNotObject
	}
	n := int64(binary.BigEndian.Uint32(end[:4]))
	if n > maxTrailer || n > fi.Size()-tail {
		return nil, errNotObject
	}
	data := make([]byte, n)
	if _, err := f.ReadAt(data, fi.Size()-tail-n); err != nil {
		return nil, fmt.Errorf("read object file: %w", err)
	}
	var t trailer
	err = json.Unmarshal(data, &t)
	t.Key = string(t.RawKey)
	if err != nil || t.Size != fi.Size()-tail-n || len(mustHex(t.MD5)) != md5.Size {
		return nil, errNotObject
	}
	return &t, nil
}

func mustHex(s string) []byte {
	b, _ := hex.DecodeString(s)
	return b
}

// section reads part of an object file and closes the file.
type section struct {
	*io.SectionReader
	f *os.File
}

func (s *section) Close() error { return s.f.Close() }

type noContent struct{}

func (noContent) Read([]byte) (int, error) { return 0, io.EOF }
func (noContent) Close() error             { return nil }
