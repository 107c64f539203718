package handlers_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// overlapScript opens the page's <details> and finds text that overlaps
// other text. A text-bearing element is an SVG <text> (its box is its
// getBoundingClientRect) or an HTML element outside the SVG with a
// non-blank text node of its own (h1, p, figcaption, a, th, td, summary,
// caption...; its boxes are the line boxes of those text nodes, from a
// Range, so that a block's empty width and a wrapped link's other lines do
// not count as text). Elements with no size, display none, visibility
// hidden or opacity 0 are left out. Two boxes overlap when they intersect
// by more than 1 px in both axes and belong to different elements, neither
// inside the other.
const overlapScript = `(() => {
	const details = document.querySelector("details");
	if (details) details.open = true;
	const shown = e => {
		for (let a = e; a && a.nodeType === 1; a = a.parentNode) {
			const s = getComputedStyle(a);
			if (s.display === "none" || s.visibility === "hidden" || s.visibility === "collapse" || parseFloat(s.opacity) === 0) return false;
		}
		return true;
	};
	const round = r => ({left: Math.round(r.left * 10) / 10, top: Math.round(r.top * 10) / 10,
		right: Math.round(r.right * 10) / 10, bottom: Math.round(r.bottom * 10) / 10});
	const items = [];
	for (const e of document.querySelectorAll("svg text")) {
		const r = e.getBoundingClientRect();
		if (r.width > 0 && r.height > 0 && e.textContent.trim() !== "" && shown(e)) items.push({el: e, boxes: [r]});
	}
	for (const e of document.body.querySelectorAll("*")) {
		if (e.closest("svg") || !shown(e)) continue;
		const boxes = [];
		for (const n of e.childNodes) {
			if (n.nodeType !== 3 || n.textContent.trim() === "") continue;
			const range = document.createRange();
			range.selectNodeContents(n);
			for (const r of range.getClientRects()) if (r.width > 0 && r.height > 0) boxes.push(r);
		}
		if (boxes.length > 0) items.push({el: e, boxes});
	}
	const name = e => {
		const c = e.getAttribute("class");
		return e.tagName.toLowerCase() + (c ? "." + c.trim().split(/\s+/).join(".") : "");
	};
	const text = e => e.textContent.replace(/\s+/g, " ").trim().slice(0, 80);
	const out = [];
	for (let i = 0; i < items.length; i++) {
		for (let j = i + 1; j < items.length; j++) {
			const a = items[i], b = items[j];
			if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
			found: for (const p of a.boxes) {
				for (const q of b.boxes) {
					const w = Math.min(p.right, q.right) - Math.max(p.left, q.left);
					const h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
					if (w > 1 && h > 1) {
						out.push({a: name(a.el), aText: text(a.el), aBox: round(p), b: name(b.el), bText: text(b.el), bBox: round(q),
							width: Math.round(w * 10) / 10, height: Math.round(h * 10) / 10});
						break found;
					}
				}
			}
		}
	}
	const svgHeights = items.filter(i => i.el instanceof SVGElement).map(i => i.boxes[0].height);
	return {texts: items.length, smallest: svgHeights.length ? Math.round(Math.min(...svgHeights) * 10) / 10 : 0, overlaps: out};
})()`

// box is a text box in CSS pixels of the viewport.
type box struct {
	Left   float64 `json:"left"`
	Top    float64 `json:"top"`
	Right  float64 `json:"right"`
	Bottom float64 `json:"bottom"`
}

func (b box) String() string {
	return fmt.Sprintf("[%g,%g %gx%g]", b.Left, b.Top, b.Right-b.Left, b.Bottom-b.Top)
}

// overlap is two text boxes of different elements that intersect.
type overlap struct {
	A      string  `json:"a"`
	AText  string  `json:"aText"`
	ABox   box     `json:"aBox"`
	B      string  `json:"b"`
	BText  string  `json:"bText"`
	BBox   box     `json:"bBox"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

func (o overlap) String() string {
	return fmt.Sprintf("%s %q %v overlaps %s %q %v by %gx%g px", o.A, o.AText, o.ABox, o.B, o.BText, o.BBox, o.Width, o.Height)
}

// overlaps is what overlapScript reports: how many text-bearing elements
// it measured, the height in CSS pixels of the smallest chart text (the
// SVG scales with the page), and the overlaps.
type overlaps struct {
	Texts    int       `json:"texts"`
	Smallest float64   `json:"smallest"`
	Overlaps []overlap `json:"overlaps"`
}

// saveScreenshot writes a screenshot under the test's temp dir and, when
// KRIMSTAT_SCREENSHOTS (or the older KRIMSTAT_SCREENSHOT_DIR) names a
// folder, there too, creating the folder. It returns the temp dir path.
func saveScreenshot(t *testing.T, name string, png []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"KRIMSTAT_SCREENSHOTS", "KRIMSTAT_SCREENSHOT_DIR"} {
		dir := os.Getenv(env)
		if dir == "" {
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatalf("%s: %v", env, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatalf("%s: %v", env, err)
		}
	}
	return path
}

// shotName is a screenshot's file name from its route, width, theme and
// language: embed-series-320-light-nb.png.
func shotName(route string, width int64, theme, lang string) string {
	route = strings.Trim(strings.ReplaceAll(route, "/", "-"), "-")
	return fmt.Sprintf("%s-%d-%s-%s.png", route, width, theme, lang)
}
