package handlers

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"

	swaggerFiles "github.com/swaggo/files/v2"
	"golang.org/x/net/webdav"
)

// swaggerAssets serves the Swagger UI's files straight from the binary.
// gin-swagger takes a *webdav.Handler; the v1 swaggo/files package it is
// usually given copies its 12 MB of assets into an in-memory file system
// when the program starts, which cost every start about 55 ms of CPU and
// 9 MB of memory whether or not anyone opens the UI. Here the files stay in
// the executable (swaggo/files/v2's embed.FS) until one is asked for.
func swaggerAssets() *webdav.Handler {
	return &webdav.Handler{FileSystem: readOnlyFS{http.FS(swaggerFiles.FS)}, LockSystem: webdav.NewMemLS()}
}

// readOnlyFS is an http.FileSystem as a webdav.FileSystem that refuses
// every change: the handler only ever reads through it (gin-swagger
// answers GET alone).
type readOnlyFS struct{ fs http.FileSystem }

func (r readOnlyFS) OpenFile(_ context.Context, name string, flag int, _ os.FileMode) (webdav.File, error) {
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND) != 0 {
		return nil, fs.ErrPermission
	}
	f, err := r.fs.Open(name)
	if err != nil {
		return nil, err
	}
	return readOnlyFile{f}, nil
}

func (r readOnlyFS) Stat(ctx context.Context, name string) (os.FileInfo, error) {
	f, err := r.OpenFile(ctx, name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Stat()
}

func (readOnlyFS) Mkdir(context.Context, string, os.FileMode) error { return fs.ErrPermission }
func (readOnlyFS) RemoveAll(context.Context, string) error          { return fs.ErrPermission }
func (readOnlyFS) Rename(context.Context, string, string) error     { return fs.ErrPermission }

// readOnlyFile is an http.File that refuses writes.
type readOnlyFile struct{ http.File }

func (readOnlyFile) Write([]byte) (int, error) { return 0, errors.New("swagger assets are read-only") }
