// Package zzglob stands in for drjosh.dev/zzglob when scripts/build-binaries builds
// buildkite-agent: the Go module proxy this project's CI can reach refuses every
// version of that module. It offers the part of zzglob's API that the agent calls
// (Parse, Pattern.Match, Pattern.Glob, MultiGlob and their options), implemented
// with doublestar, which the agent already depends on. Only the test binary uses it.
package zzglob

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

type options struct {
	expandTilde          bool
	walkIntermediateDirs bool
	traverseSymlinks     bool
}

// Option changes how a pattern is parsed or walked.
type Option func(*options)

// ExpandTilde makes a leading "~/" stand for the user's home directory (default true).
func ExpandTilde(on bool) Option { return func(o *options) { o.expandTilde = on } }

// WalkIntermediateDirs reports an unreadable fixed root of the pattern to the callback.
func WalkIntermediateDirs(on bool) Option { return func(o *options) { o.walkIntermediateDirs = on } }

// TraverseSymlinks follows symbolic links to directories while walking (default true).
func TraverseSymlinks(on bool) Option { return func(o *options) { o.traverseSymlinks = on } }

// Pattern is a parsed glob: a fixed base directory and the pattern below it.
type Pattern struct {
	pattern string
	base    string
	rest    string
	opts    options
}

// Parse parses a glob pattern with *, **, ?, [...] and {a,b}.
func Parse(pattern string, opts ...Option) (*Pattern, error) {
	o := options{expandTilde: true, traverseSymlinks: true}
	for _, opt := range opts {
		opt(&o)
	}
	p := filepath.ToSlash(pattern)
	if o.expandTilde && (p == "~" || strings.HasPrefix(p, "~/")) {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("expanding ~ in %q: %w", pattern, err)
		}
		p = filepath.ToSlash(home) + p[1:]
	}
	if !doublestar.ValidatePattern(p) {
		return nil, fmt.Errorf("invalid glob pattern %q", pattern)
	}
	base, rest := doublestar.SplitPattern(p)
	return &Pattern{pattern: p, base: base, rest: rest, opts: o}, nil
}

// Match reports whether path matches the pattern.
func (p *Pattern) Match(path string) bool {
	matched, _ := doublestar.Match(p.pattern, filepath.ToSlash(path)) // validated by Parse
	return matched
}

// Glob calls fn for every file system entry that matches the pattern.
func (p *Pattern) Glob(fn fs.WalkDirFunc, opts ...Option) error {
	o := p.opts
	for _, opt := range opts {
		opt(&o)
	}
	base := filepath.FromSlash(p.base)
	if o.walkIntermediateDirs {
		if _, err := os.Stat(base); err != nil {
			return fn(base, nil, err)
		}
	}
	var walkOpts []doublestar.GlobOption
	if !o.traverseSymlinks {
		walkOpts = append(walkOpts, doublestar.WithNoFollow())
	}
	return doublestar.GlobWalk(os.DirFS(base), p.rest, func(path string, d fs.DirEntry) error {
		return fn(filepath.Join(base, filepath.FromSlash(path)), d, nil)
	}, walkOpts...)
}

// MultiGlob walks every pattern in turn, stopping when ctx is done.
func MultiGlob(ctx context.Context, patterns []*Pattern, fn fs.WalkDirFunc, opts ...Option) error {
	for _, p := range patterns {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := p.Glob(fn, opts...); err != nil {
			return err
		}
	}
	return nil
}
