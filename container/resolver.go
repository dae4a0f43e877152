package container

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/driver"
)

// Resolver asks a list of sources for a container's metadata.
// It is safe for concurrent use.
type Resolver struct {
	sources []*tracked
	log     *slog.Logger

	lookups, found, notFound, failed atomic.Uint64
}

// tracked is a source with the reachability the Resolver last logged.
type tracked struct {
	Source
	mu    sync.Mutex
	down  bool
	asked bool // a lookup has reached the source (answered or failed)
}

// ResolverStats are a Resolver's counters.
type ResolverStats struct {
	Lookups  uint64   // calls of Lookup
	Found    uint64   // lookups a source answered
	NotFound uint64   // lookups no source knew, with every source reachable
	Failed   uint64   // lookups that failed with a source unreachable or in error
	Down     []string // names of the sources last found unreachable
	// Sources are the configured sources, in the order given to
	// NewResolver, with their reachability.
	Sources []SourceState
}

// SourceState is a source's reachability as a Resolver sees it.
type SourceState struct {
	Name string // the source's Name
	// Up: the runtime answered the last lookup that asked it; before the
	// first such lookup, one of the source's sockets exists (a source
	// without known sockets counts as up until a lookup fails).
	Up bool
}

// NewResolver returns a Resolver over sources. log receives one warning
// when a source becomes unreachable and one notice when it is back; nil
// discards them.
func NewResolver(sources []Source, log *slog.Logger) *Resolver {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Resolver{log: log}
	for _, s := range sources {
		r.sources = append(r.sources, &tracked{Source: s})
	}
	return r
}

// Lookup returns the container's metadata from the first source that
// knows fullID, trying first the sources that match typ (the runtime the
// cgroup path named: TypeDocker, TypeContainerd, TypeCRI, TypeCRIO,
// TypePodman, or ""). It returns an error wrapping ErrNotFound when every
// source answered without knowing it, ErrUnavailable when none knew it and
// some could not be asked.
func (r *Resolver) Lookup(ctx context.Context, fullID, typ string) (*Meta, error) {
	r.lookups.Add(1)
	order := slices.Clone(r.sources)
	slices.SortStableFunc(order, func(a, b *tracked) int { return rank(a.Source, typ) - rank(b.Source, typ) })
	var errs []error
	unavailable := false
	for _, s := range order {
		m, err := s.Lookup(ctx, fullID)
		r.note(s, err)
		if err == nil {
			r.found.Add(1)
			return m, nil
		}
		if errors.Is(err, ErrNotFound) {
			continue
		}
		unavailable = unavailable || errors.Is(err, ErrUnavailable)
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 0 {
		r.notFound.Add(1)
		return nil, ErrNotFound
	}
	r.failed.Add(1)
	err := errors.Join(errs...)
	if unavailable && !errors.Is(err, ErrUnavailable) {
		err = errors.Join(ErrUnavailable, err)
	}
	return nil, err
}

// Fill looks the container up (see Lookup) and fills c with what was found.
func (r *Resolver) Fill(ctx context.Context, fullID, typ string, c *driver.Container) error {
	m, err := r.Lookup(ctx, fullID, typ)
	if err != nil {
		return err
	}
	m.Fill(c)
	return nil
}

// note logs a source's change of reachability.
func (r *Resolver) note(s *tracked, err error) {
	down := err != nil && errors.Is(err, ErrUnavailable)
	s.mu.Lock()
	changed := s.down != down
	s.down, s.asked = down, true
	s.mu.Unlock()
	if !changed {
		return
	}
	if down {
		if errors.Is(err, errNoSocket) {
			r.log.Info("container runtime socket not found; its containers have no metadata until it appears", "source", s.Name())
		} else {
			r.log.Warn("container runtime unreachable; metadata unavailable, retrying with backoff", "source", s.Name(), "err", err)
		}
	} else {
		r.log.Info("container runtime reachable", "source", s.Name())
	}
}

// Stats returns the counters and the sources' reachability. A source no
// lookup has asked yet is checked by looking for its socket (a stat, no
// connection). It is safe to call concurrently with Lookup.
func (r *Resolver) Stats() ResolverStats {
	st := ResolverStats{Lookups: r.lookups.Load(), Found: r.found.Load(), NotFound: r.notFound.Load(), Failed: r.failed.Load(),
		Sources: make([]SourceState, 0, len(r.sources))}
	for _, s := range r.sources {
		s.mu.Lock()
		down, asked := s.down, s.asked
		s.mu.Unlock()
		if down {
			st.Down = append(st.Down, s.Name())
		}
		up := !down
		if !asked {
			if socks := socketsOf(s.Source); socks != nil {
				_, err := socketPath(socks)
				up = err == nil
			}
		}
		st.Sources = append(st.Sources, SourceState{Name: s.Name(), Up: up})
	}
	return st
}

// socketsOf returns the sockets a source of this package tries, or nil
// for another Source.
func socketsOf(s Source) []string {
	switch s := s.(type) {
	case *Docker:
		return s.sockets
	case *CRI:
		return s.conn.sockets
	case *Containerd:
		return s.conn.sockets
	}
	return nil
}

// Close closes the sources that hold connections.
func (r *Resolver) Close() error {
	var errs []error
	for _, s := range r.sources {
		if c, ok := s.Source.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// rank orders sources for a cgroup type: lower first.
func rank(s Source, typ string) int {
	kind := ""
	switch s := s.(type) {
	case *Docker:
		kind = s.typ
	case *CRI:
		kind = TypeCRI
	case *Containerd:
		kind = TypeContainerd
	}
	order := map[string][]string{
		TypeDocker:     {TypeDocker, TypeCRI, TypeContainerd, TypePodman},
		TypePodman:     {TypePodman, TypeDocker},
		TypeContainerd: {TypeCRI, TypeContainerd, TypeDocker},
		TypeCRI:        {TypeCRI, TypeDocker, TypeContainerd},
		TypeCRIO:       {TypeCRI},
	}[typ]
	if order == nil {
		order = []string{TypeCRI, TypeDocker, TypeContainerd, TypePodman}
	}
	if i := slices.Index(order, kind); i >= 0 {
		return i
	}
	return len(order)
}

// SourcesFromConfig returns the sources of the enabled engines: one per
// configured socket (a socket listed twice, as containerd's is for both
// "containerd" and "cri", is one source per API). The sockets need not
// exist yet.
func SourcesFromConfig(e config.ContainerEngines) []Source {
	var out []Source
	seen := map[string]bool{}
	add := func(kind, sock string, mk func() Source) {
		if seen[kind+"\x00"+sock] {
			return
		}
		seen[kind+"\x00"+sock] = true
		out = append(out, mk())
	}
	for _, eng := range []struct {
		kind string
		e    config.ContainerEngine
	}{
		{TypeCRI, e.CRI}, {TypeCRIO, e.CRIO}, {TypeDocker, e.Docker}, {TypeContainerd, e.Containerd}, {TypePodman, e.Podman},
	} {
		if !eng.e.Enabled {
			continue
		}
		for _, sock := range eng.e.Sockets {
			switch eng.kind {
			case TypeCRI, TypeCRIO:
				add(TypeCRI, sock, func() Source { return NewCRI([]string{sock}) })
			case TypeDocker, TypePodman:
				add(eng.kind, sock, func() Source { return NewDocker(eng.kind, []string{sock}) })
			case TypeContainerd:
				add(TypeContainerd, sock, func() Source { return NewContainerd([]string{sock}) })
			}
		}
	}
	return out
}
