package hashing

import (
	"path"
	"strings"
)

// webTypes maps a lower-case file extension to its media type. It is the
// table every part of cdnctl uses (fingerprint rules, the static origin,
// uploads), so a file gets the same Content-Type everywhere regardless of
// the host's mime.types.
var webTypes = map[string]string{
	// documents and text
	".html":        "text/html",
	".htm":         "text/html",
	".xhtml":       "application/xhtml+xml",
	".css":         "text/css",
	".js":          "text/javascript",
	".mjs":         "text/javascript",
	".cjs":         "text/javascript",
	".json":        "application/json",
	".jsonld":      "application/ld+json",
	".map":         "application/json",
	".webmanifest": "application/manifest+json",
	".xml":         "application/xml",
	".rss":         "application/rss+xml",
	".atom":        "application/atom+xml",
	".txt":         "text/plain",
	".md":          "text/markdown",
	".csv":         "text/csv",
	".ics":         "text/calendar",
	".vtt":         "text/vtt",
	".yaml":        "application/yaml",
	".yml":         "application/yaml",
	".pdf":         "application/pdf",
	".wasm":        "application/wasm",
	// images
	".png":  "image/png",
	".jpg":  "image/jpeg",
	".jpeg": "image/jpeg",
	".gif":  "image/gif",
	".webp": "image/webp",
	".avif": "image/avif",
	".svg":  "image/svg+xml",
	".ico":  "image/x-icon",
	".bmp":  "image/bmp",
	".tif":  "image/tiff",
	".tiff": "image/tiff",
	".apng": "image/apng",
	".jxl":  "image/jxl",
	// fonts
	".woff":  "font/woff",
	".woff2": "font/woff2",
	".ttf":   "font/ttf",
	".otf":   "font/otf",
	".eot":   "application/vnd.ms-fontobject",
	// audio and video
	".mp3":  "audio/mpeg",
	".ogg":  "audio/ogg",
	".oga":  "audio/ogg",
	".wav":  "audio/wav",
	".flac": "audio/flac",
	".m4a":  "audio/mp4",
	".aac":  "audio/aac",
	".opus": "audio/opus",
	".mp4":  "video/mp4",
	".m4v":  "video/mp4",
	".webm": "video/webm",
	".ogv":  "video/ogg",
	".mov":  "video/quicktime",
	".m3u8": "application/vnd.apple.mpegurl",
	".mpd":  "application/dash+xml",
	".ts":   "video/mp2t",
	// archives and binaries
	".zip":  "application/zip",
	".gz":   "application/gzip",
	".br":   "application/x-brotli",
	".tar":  "application/x-tar",
	".bin":  "application/octet-stream",
	".glb":  "model/gltf-binary",
	".gltf": "model/gltf+json",
}

// DefaultContentType is used for names the table does not know.
const DefaultContentType = "application/octet-stream"

// ContentType returns the media type for a file name from cdnctl's built-in
// table of web types, with "; charset=utf-8" for textual types.
// Unknown extensions get DefaultContentType.
func ContentType(name string) string {
	t, ok := webTypes[strings.ToLower(path.Ext(name))]
	if !ok {
		return DefaultContentType
	}
	if IsText(t) {
		return t + "; charset=utf-8"
	}
	return t
}

// IsText reports whether a media type (without parameters) is textual, that
// is, gets a charset and is worth compressing.
func IsText(mediaType string) bool {
	mediaType, _, _ = strings.Cut(mediaType, ";")
	mediaType = strings.TrimSpace(mediaType)
	if strings.HasPrefix(mediaType, "text/") {
		return true
	}
	switch mediaType {
	case "application/json", "application/ld+json", "application/manifest+json",
		"application/xml", "application/xhtml+xml", "application/rss+xml",
		"application/atom+xml", "application/yaml", "image/svg+xml",
		"application/vnd.apple.mpegurl", "application/dash+xml", "model/gltf+json":
		return true
	}
	return false
}

// Compressible reports whether a media type benefits from gzip/brotli:
// text plus a few binary formats that are not already compressed.
func Compressible(mediaType string) bool {
	if IsText(mediaType) {
		return true
	}
	mediaType, _, _ = strings.Cut(mediaType, ";")
	switch strings.TrimSpace(mediaType) {
	case "application/wasm", "font/ttf", "font/otf", "application/vnd.ms-fontobject",
		"image/x-icon", "image/bmp", "image/tiff":
		return true
	}
	return false
}
