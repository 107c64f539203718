package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/export"
	"github.com/krimstat/krimstat/store"
)

// Bounds of the bundle memo. Releases are few and a bundle is a few
// megabytes, so the memo keeps the latest maxBundles of them; a build runs
// apart from the request that started it, so a client that leaves does
// not waste it, but no longer than bundleBuildTimeout.
const (
	maxBundles         = 8
	bundleBuildTimeout = 5 * time.Minute
)

// Cache-Control of a bundle: a release never changes, so its bundle is
// immutable; "current" names another release after the next load, so its
// bundle is kept no longer than the API's other answers.
const (
	bundleCacheControl        = "public, max-age=86400, immutable"
	currentBundleCacheControl = "public, max-age=300"
)

// bundles serves the release bundles, each built once per release and
// kept: the same release always gives the same bytes, so one build
// answers every request, range and revalidation. Its zero value is not
// useful; Handler.newBundles makes one.
type bundles struct {
	store store.Store
	mu    sync.Mutex
	byID  map[string]*bundle
	order []string // release ids in the order their builds started
}

// bundle is one release's zip, or the build under way.
type bundle struct {
	done     chan struct{} // closed when the build ends
	zip      []byte
	etag     string // strong: the quoted hex SHA-256 of zip
	modified time.Time
	err      error
}

// newBundles returns an empty memo of the bundles of h's releases, for the
// download route.
func (h *Handler) newBundles() *bundles {
	return &bundles{store: h.store, byID: map[string]*bundle{}}
}

// downloadRelease godoc
//
//	@Summary		Download a release
//	@Description	The whole release as one zip that is a Frictionless Data Package: datapackage.json (licences, sources, a Table Schema per table with types, missing values, primary and foreign keys), observations.csv (every observation, long format, with English names), observations.parquet (the same, typed), offences.csv, regions.csv, measures.csv, sources.csv, population.csv, README.md (caveats, how to cite) and CITATION.cff. id is a release id or current. The bytes of a release never change: a strong ETag (SHA-256 of the zip), Last-Modified (the release's date) and byte ranges are supported. `krimstat export -release ID -out FILE` writes the same file.
//	@Tags			releases
//	@ID				downloadRelease
//	@Produce		application/zip
//	@Param			id	path		string	true	"Release id, or current"	example(current)
//	@Success		200	{file}		binary	"The release bundle"
//	@Success		206	{file}		binary	"The byte range asked for"
//	@Failure		400,404,500,503	{object}	problem.Problem
//	@Router			/v1/releases/{id}/download [get]
func (b *bundles) downloadRelease(c *gin.Context) error {
	if _, err := (route{}).query(c.Request.URL.RawQuery); err != nil {
		return err
	}
	ctx := c.Request.Context()
	id := c.Param("id")
	rel, err := export.ResolveRelease(ctx, b.store, id)
	if err != nil {
		return err
	}
	c.Header(releaseHeader, rel.ID)
	z, err := b.get(ctx, rel)
	if err != nil {
		return err
	}
	h := c.Writer.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="`+fileName("krimstat", rel.ID)+`.zip"`)
	h.Set("Etag", z.etag)
	if id == export.Current {
		h.Set("Cache-Control", currentBundleCacheControl)
	} else {
		h.Set("Cache-Control", bundleCacheControl)
	}
	// ServeContent answers ranges, If-None-Match, If-Range and HEAD, and
	// sets Content-Length and Last-Modified.
	http.ServeContent(c.Writer, c.Request, "", z.modified, bytes.NewReader(z.zip))
	return nil
}

// get returns the bundle of rel, building it on first use. Requests that
// arrive during the build wait for it, each until its own context ends. A
// failed build is forgotten, so the next request tries again.
func (b *bundles) get(ctx context.Context, rel store.Release) (*bundle, error) {
	b.mu.Lock()
	z, ok := b.byID[rel.ID]
	if !ok {
		b.evict()
		z = &bundle{done: make(chan struct{})}
		b.byID[rel.ID] = z
		b.order = append(b.order, rel.ID)
		// The build outlives the request that started it, within its own
		// deadline: the next request for this release needs it too.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bundleBuildTimeout)
		go func() {
			defer cancel()
			b.build(bctx, rel, z)
		}()
	}
	b.mu.Unlock()
	select {
	case <-z.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if z.err != nil {
		return nil, z.err
	}
	return z, nil
}

// build makes the zip of rel into z, then forgets z if the build failed.
func (b *bundles) build(ctx context.Context, rel store.Release, z *bundle) {
	defer close(z.done)
	zip, err := export.Bundle(ctx, b.store, rel.ID)
	if err != nil {
		z.err = err
		b.mu.Lock()
		if b.byID[rel.ID] == z {
			delete(b.byID, rel.ID)
			b.order = slices.DeleteFunc(b.order, func(s string) bool { return s == rel.ID })
		}
		b.mu.Unlock()
		return
	}
	sum := sha256.Sum256(zip)
	z.zip = zip
	z.etag = `"` + hex.EncodeToString(sum[:]) + `"`
	// A zero time (a release date that does not parse) leaves
	// Last-Modified out.
	z.modified, _ = time.Parse(time.RFC3339, rel.Created)
}

// evict drops the oldest finished bundles while the memo is full. A build
// under way is kept, so the memo may briefly hold more than maxBundles.
// The caller holds b.mu.
func (b *bundles) evict() {
	for i := 0; len(b.byID) >= maxBundles && i < len(b.order); {
		id := b.order[i]
		select {
		case <-b.byID[id].done:
			delete(b.byID, id)
			b.order = slices.Delete(b.order, i, i+1)
		default:
			i++
		}
	}
}
