package stsmock

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// An environment holds several AWS accounts. Each has its own IAM state
// (roles, managed policies, OIDC providers), persisted in its own file; the
// default account's file stays where a one-account environment kept it.
// S3 is one global namespace, as in AWS: bucket policies, tags and owners
// live with the default account's state, and a bucket's owner decides
// whether a call to it crosses accounts.
//
// Following the LocalStack convention, an access key ID of twelve digits
// signs as that account's root with any secret, and creates the account on
// first use.

// maxAccounts bounds how many accounts an environment holds, so that a
// client signing with ever new 12-digit keys cannot grow it without end.
const maxAccounts = 100

type accountSet struct {
	mu   sync.RWMutex
	dir  string // "" keeps accounts in memory
	byID map[string]*iamState
}

func newAccountSet(dir, defaultID string, def *iamState) (*accountSet, error) {
	a := &accountSet{dir: dir, byID: map[string]*iamState{defaultID: def}}
	if dir == "" {
		return a, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("read accounts: %w", err)
	}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !isAccountID(id) || id == defaultID {
			continue
		}
		st, err := newIAMState(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", id, err)
		}
		a.byID[id] = st
	}
	return a, nil
}

// get returns the state of account id, if it exists.
func (a *accountSet) get(id string) (*iamState, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	st, ok := a.byID[id]
	return st, ok
}

// ensure returns the state of account id, creating the account if needed.
func (a *accountSet) ensure(id string) (*iamState, bool, error) {
	if !isAccountID(id) {
		return nil, false, fmt.Errorf("invalid account id %q: want 12 digits", id)
	}
	if st, ok := a.get(id); ok {
		return st, false, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if st, ok := a.byID[id]; ok {
		return st, false, nil
	}
	if len(a.byID) >= maxAccounts {
		return nil, false, fmt.Errorf("create account %s: an environment holds at most %d accounts", id, maxAccounts)
	}
	path := ""
	if a.dir != "" {
		if err := os.MkdirAll(a.dir, 0o700); err != nil {
			return nil, false, fmt.Errorf("create account %s: %w", id, err)
		}
		path = filepath.Join(a.dir, id+".json")
	}
	st, err := newIAMState(path)
	if err != nil {
		return nil, false, err
	}
	st.mu.Lock()
	err = st.save()
	st.mu.Unlock()
	if err != nil {
		return nil, false, err
	}
	a.byID[id] = st
	return st, true, nil
}

// ids lists the accounts in order.
func (a *accountSet) ids() []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]string, 0, len(a.byID))
	for id := range a.byID {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// resetOthers forgets every account but def, and removes their files.
func (a *accountSet) resetOthers(def string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, st := range a.byID {
		if id == def {
			continue
		}
		delete(a.byID, id)
		if st.path != "" {
			if err := os.Remove(st.path); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("remove account %s: %w", id, err)
			}
		}
	}
	return nil
}

func isAccountID(id string) bool {
	return len(id) == 12 && strings.Trim(id, "0123456789") == ""
}

// in returns a view of the server acting for account id: the same
// endpoint, with IAM reading and writing that account's state. ok is false
// when the account does not exist.
func (s *Server) in(id string) (*Server, bool) {
	if id == s.account && s.iam == s.base {
		return s, true
	}
	st, ok := s.accounts.get(id)
	if !ok {
		return nil, false
	}
	v := *s
	v.account, v.iam = id, st
	return &v, true
}

// Accounts lists the environment's accounts, the default one included.
func (s *Server) Accounts() []string { return s.accounts.ids() }

// CreateAccount adds an account to the environment; creating one that
// exists does nothing.
func (s *Server) CreateAccount(id string) error {
	_, _, err := s.accounts.ensure(id)
	return err
}
