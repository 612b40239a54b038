package inspect

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/table"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/cdnctl/cdnctl/localedge"
)

// Fixed heights around the body: the title bar, the status line and the
// one-line help bar.
const chromeLines = 3

// layout sizes the table and the viewport for the terminal.
func (m *Model) layout() {
	body := m.bodyHeight()
	m.help.SetWidth(m.width)
	// The entries view has a query line and a footer around the table
	// (whose height counts its header).
	m.table.SetWidth(m.width)
	m.table.SetHeight(max(body-2, 2))
	// Rows first emptied: the column count changes with the width, and
	// the table renders every row against the new columns.
	cursor := m.table.Cursor()
	m.table.SetRows(nil)
	m.table.SetColumns(m.entryColumns())
	rows := make([]table.Row, 0, len(m.page.Entries))
	for _, e := range m.page.Entries {
		rows = append(rows, m.entryRow(e))
	}
	m.table.SetRows(rows)
	m.table.SetCursor(max(cursor, 0))
	m.viewport.SetWidth(m.width)
	m.viewport.SetHeight(max(body-1, 1))
	if m.detail != nil || m.detailErr != "" {
		m.viewport.SetContent(m.detailContent())
	}
}

func (m *Model) bodyHeight() int {
	h := m.height - chromeLines - m.bannerLines()
	return max(h, 3)
}

// entryColumns share the width: the key takes what the others leave.
func (m *Model) entryColumns() []table.Column {
	cols := []table.Column{
		{Title: "POP", Width: 7}, {Title: "KEY"}, {Title: "ST", Width: 3}, {Title: "SIZE", Width: 9},
		{Title: "AGE", Width: 5}, {Title: "TTL", Width: 6}, {Title: "HITS", Width: 5}, {Title: "TAGS", Width: 12},
	}
	if m.width < 100 {
		cols = slices.Delete(cols, 7, 8) // no room for tags
	}
	used := 0
	for _, c := range cols {
		used += c.Width + 2 // the cells' padding
	}
	cols[1].Width = max(m.width-used-2, 12)
	m.keyWidth = cols[1].Width
	return cols
}

func (m *Model) entryRow(e localedge.EntryInfo) table.Row {
	ttl := humanSeconds(e.TTLS)
	if e.Stale {
		ttl = "stale"
	}
	suffix := ""
	if e.Variants > 1 {
		suffix = fmt.Sprintf(" (%d)", e.Variants)
	}
	// Keep the host and the file; the middle of the path gives way.
	key := truncateKey(e.Key, m.keyWidth-len(suffix)) + suffix
	row := table.Row{e.Pop, key, strconv.Itoa(e.Status), humanBytes(e.Size), humanSeconds(e.AgeS), ttl, strconv.FormatInt(e.Hits, 10)}
	if m.width >= 100 {
		row = append(row, strings.Join(e.Tags, ","))
	}
	return row
}

// View draws the screen: the title bar, an error banner when the admin
// API fails, the body, the status line and the help.
func (m *Model) View() tea.View {
	var b strings.Builder
	b.WriteString(m.titleBar())
	b.WriteByte('\n')
	if s := m.banner(); s != "" {
		b.WriteString(m.st.Error.Render(s))
		b.WriteByte('\n')
	}
	body := m.bodyHeight()
	var content string
	switch {
	case m.showHelp:
		content = m.fullHelp()
	case m.state == stateOverview:
		content = m.overview(body)
	case m.state == stateEntries:
		content = m.entries()
	default:
		content = m.detailView()
	}
	if m.confirm != nil {
		content = m.dialog(body)
	}
	b.WriteString(fitLines(content, body, m.width))
	b.WriteByte('\n')
	b.WriteString(m.statusLine())
	b.WriteByte('\n')
	b.WriteString(m.helpBar())
	v := tea.NewView(b.String())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "cdnctl inspect"
	return v
}

// fitLines pads or cuts s to exactly n lines of at most width cells, so
// the status line and the help stay at the bottom whatever the body holds
// and nothing wraps.
func fitLines(s string, n, width int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > width {
			lines[i] = ansi.Truncate(l, width, "…")
		}
	}
	for len(lines) < n {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

func (m *Model) titleBar() string {
	tabs := []string{"Overview", "Entries"}
	if m.state == stateDetail {
		tabs = append(tabs, "Detail")
	}
	var parts []string
	for i, t := range tabs {
		if state(i) == m.state {
			parts = append(parts, m.st.ActiveTab.Render(t))
		} else {
			parts = append(parts, m.st.Tab.Render(t))
		}
	}
	left := m.st.Title.Render("cdnctl inspect") + " " + strings.Join(parts, "")
	right := m.opts.Source
	if m.opts.ReadOnly {
		right = "read-only · " + right
	}
	if !m.statsAt.IsZero() {
		right += " · " + clock(m.statsAt)
	}
	gap := m.width - lipgloss.Width(left) - lipgloss.Width(right)
	if gap < 1 {
		return truncate(ansiStrip(left), m.width)
	}
	return left + strings.Repeat(" ", gap) + m.st.Dim.Render(right)
}

// maxBannerLines bounds the error banner.
const maxBannerLines = 3

// banner is the error lines: the admin API is down or refuses the token.
// It is wrapped to the width, on at most maxBannerLines lines.
func (m *Model) banner() string {
	msg := m.statsErr
	if msg == "" {
		msg = m.pageErr
	}
	if msg == "" {
		return ""
	}
	text := fmt.Sprintf("✗ %s — retrying every %s (r: now)", msg, m.opts.Refresh)
	lines := strings.Split(lipgloss.NewStyle().Width(m.width).Render(text), "\n")
	if len(lines) > maxBannerLines {
		lines = lines[:maxBannerLines]
	}
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return strings.Join(lines, "\n")
}

func (m *Model) bannerLines() int {
	if b := m.banner(); b != "" {
		return strings.Count(b, "\n") + 1
	}
	return 0
}

func (m *Model) statusLine() string {
	switch {
	case m.prompt != nil && m.prompt.kind != "filter":
		return m.purgePrompt()
	case m.busy != "":
		return m.st.Status.Render(truncate("… "+m.busy, m.width))
	case m.status != "" && m.failed:
		return m.st.Error.Render(truncate(m.status, m.width))
	case m.status != "":
		return m.st.Status.Render(truncate(m.status, m.width))
	}
	return ""
}

// purgePrompt is the line a purge target is typed on, in place of the
// status line: always on screen, whatever the view above it.
func (m *Model) purgePrompt() string {
	p := m.prompt
	label := "purge " + p.kind + ": "
	value := p.value + "▏"
	if p.value == "" {
		hint := map[string]string{"prefix": "/assets/ or http://host/assets/", "tag": "a tag, such as css"}[p.kind]
		value = "▏" + m.st.Dim.Render(hint)
	}
	line := m.st.Key.Render(label) + value + "  " + m.st.Dim.Render("enter: count and confirm · esc: cancel")
	if ansi.StringWidth(line) > m.width {
		line = ansi.Truncate(line, m.width, "…")
	}
	return line
}

// helpBar is the one-line key help: as many keys as the width holds, and
// always ? help and q quit at its end.
func (m *Model) helpBar() string {
	all := m.keys.ShortHelp()
	keep := []key.Binding{m.keys.Help, m.keys.Quit}
	var rest []key.Binding
	for _, b := range all {
		if b.Help() != m.keys.Help.Help() && b.Help() != m.keys.Quit.Help() {
			rest = append(rest, b)
		}
	}
	measure := m.help
	measure.SetWidth(0) // no truncation: the real width
	for n := len(rest); n > 0; n-- {
		bar := slices.Concat(rest[:n], keep)
		if ansi.StringWidth(measure.ShortHelpView(bar)) <= m.width {
			return m.help.ShortHelpView(bar)
		}
	}
	return m.help.ShortHelpView(keep)
}

func (m *Model) fullHelp() string {
	var b strings.Builder
	b.WriteString(m.st.Header.Render("Keys") + "\n\n")
	b.WriteString(m.help.FullHelpView(m.keys.FullHelp()))
	wrap := m.st.Dim.Width(m.width)
	b.WriteString("\n\n" + wrap.Render("Filter terms (all must match): a word (part of the key), tag:T, status:404 or status:5xx, host:H, stale:true."))
	b.WriteString("\n" + wrap.Render("Purges ask first and name how many entries they affect: y hard, s soft (serve stale while revalidating), n cancel."))
	return b.String()
}

// overview is one row per PoP, then the totals.
func (m *Model) overview(height int) string {
	if len(m.pops) == 0 {
		if m.statsErr != "" {
			return m.st.Dim.Render("No statistics: the admin API did not answer.")
		}
		return m.st.Dim.Render("Loading statistics…")
	}
	type col struct {
		title string
		width int
		right bool
		cell  func(v *popView) string
	}
	cols := []col{
		{"POP", 7, false, func(v *popView) string { return v.cur.Name }},
		{"HEALTH", 6, false, func(v *popView) string {
			if v.cur.Healthy {
				return "up"
			}
			return "DOWN"
		}},
		{"REQ/S", 6, true, func(v *popView) string {
			if v.reqRate < 0 {
				return "-"
			}
			return rate(v.reqRate)
		}},
		{"HIT%", 5, true, func(v *popView) string {
			if v.cur.Hits+v.cur.Misses == 0 {
				return "-"
			}
			return fmt.Sprintf("%.0f%%", 100*v.cur.HitRatio)
		}},
		{"HIT RATIO", 0, false, nil}, // the sparkline: the width left
		{"STALE", 5, true, func(v *popView) string { return strconv.FormatInt(v.cur.Stale, 10) }},
		{"COLLAPSD", 8, true, func(v *popView) string { return strconv.FormatInt(v.cur.Collapsed, 10) }},
		{"FETCH/S", 7, true, func(v *popView) string {
			if v.fetchRate < 0 {
				return "-"
			}
			return rate(v.fetchRate)
		}},
		{"STORED", 11, false, func(v *popView) string {
			s := shortBytes(v.cur.BytesStored)
			if v.cur.CapacityBytes > 0 {
				s += "/" + shortBytes(v.cur.CapacityBytes)
			}
			return s
		}},
		{"USE", 8, false, func(v *popView) string {
			if v.cur.CapacityBytes <= 0 {
				return ""
			}
			f := float64(v.cur.BytesStored) / float64(v.cur.CapacityBytes)
			return bar(f, 4) + fmt.Sprintf("%3.0f%%", 100*f)
		}},
		{"ENTRIES", 7, true, func(v *popView) string { return strconv.FormatInt(v.cur.Entries, 10) }},
	}
	// Narrow terminals drop the least important columns first.
	for _, drop := range []string{"USE"} {
		total := 0
		for _, c := range cols {
			total += c.width + 1
		}
		if total+6 <= m.width {
			break
		}
		cols = slices.DeleteFunc(cols, func(c col) bool { return c.title == drop })
	}
	fixed := 0
	for _, c := range cols {
		fixed += c.width + 1
	}
	spark := min(max(m.width-fixed-1, 5), historyLen)
	render := func(c col, s string) string {
		w := c.width
		if c.cell == nil {
			w = spark
		}
		if c.right {
			return padLeft(s, w)
		}
		return pad(s, w)
	}
	var b strings.Builder
	var hdr []string
	for _, c := range cols {
		title := c.title
		if c.cell == nil {
			title = fmt.Sprintf("HIT RATIO (%s)", (m.opts.Refresh * time.Duration(spark)).Round(time.Second))
			if len(title) > spark {
				title = "HIT RATIO"
			}
			if len(title) > spark {
				title = "TREND"
			}
		}
		hdr = append(hdr, render(c, title))
	}
	b.WriteString(m.st.Header.Render(strings.Join(hdr, " ")) + "\n")
	var tot localedge.Stats
	var totRate, totFetch float64
	for i, name := range m.pops {
		v := m.popViews[name]
		var cells []string
		for _, c := range cols {
			if c.cell == nil {
				cells = append(cells, sparkline(v.history, spark))
				continue
			}
			s := render(c, c.cell(v))
			if c.title == "HEALTH" {
				if v.cur.Healthy {
					s = m.st.Good.Render(s)
				} else {
					s = m.st.Bad.Render(s)
				}
			}
			cells = append(cells, s)
		}
		line := strings.Join(cells, " ")
		if i == m.ovCursor {
			line = m.st.Selected.Render(ansiStrip(line))
		}
		b.WriteString(line + "\n")
		tot.Requests += v.cur.Requests
		tot.Hits += v.cur.Hits
		tot.Misses += v.cur.Misses
		tot.Entries += v.cur.Entries
		tot.BytesStored += v.cur.BytesStored
		tot.CapacityBytes += v.cur.CapacityBytes
		tot.Stale += v.cur.Stale
		tot.Collapsed += v.cur.Collapsed
		totRate += max(v.reqRate, 0)
		totFetch += max(v.fetchRate, 0)
	}
	if tot.Hits+tot.Misses > 0 {
		tot.HitRatio = float64(tot.Hits) / float64(tot.Hits+tot.Misses)
	}
	tot.Name, tot.Healthy = "total", true
	totals := &popView{cur: tot, reqRate: totRate, fetchRate: totFetch}
	var cells []string
	for _, c := range cols {
		switch {
		case c.cell == nil:
			cells = append(cells, strings.Repeat(" ", spark))
		case c.title == "HEALTH":
			cells = append(cells, pad(fmt.Sprintf("%d/%d", m.healthy(), len(m.pops)), c.width))
		default:
			cells = append(cells, render(c, c.cell(totals)))
		}
	}
	b.WriteString(m.st.Dim.Render(strings.Join(cells, " ")) + "\n\n")
	b.WriteString(m.st.Dim.Width(m.width).Render("Counters since the topology started; rates and the hit ratio graph over each refresh (" + m.opts.Refresh.String() + ")."))
	_ = height
	return b.String()
}

func (m *Model) healthy() int {
	n := 0
	for _, v := range m.popViews {
		if v.cur.Healthy {
			n++
		}
	}
	return n
}

// entries is the query line, the table and the paging footer.
func (m *Model) entries() string {
	var b strings.Builder
	pop := m.pop
	if pop == "" {
		pop = "all"
	}
	order := "↑"
	if m.desc {
		order = "↓"
	}
	filter := m.filter
	if m.prompt != nil && m.prompt.kind == "filter" {
		filter = m.prompt.value + "▏"
	} else if filter == "" {
		filter = m.st.Dim.Render("(none: / to filter)")
	}
	line := fmt.Sprintf("filter: %s   sort: %s %s   pop: %s", filter, sortFields[m.sortIdx], order, pop)
	b.WriteString(truncate(line, m.width+20) + "\n")
	switch {
	case len(m.page.Entries) == 0 && m.loading:
		b.WriteString(m.st.Dim.Render("Loading…"))
	case len(m.page.Entries) == 0 && m.pageErr == "":
		b.WriteString(m.st.Dim.Render("No cached entry matches."))
	default:
		b.WriteString(m.table.View())
	}
	b.WriteString("\n")
	if n := len(m.page.Entries); n > 0 {
		first := m.page.Offset + m.table.Cursor() + 1
		pages := (m.page.Total + m.opts.PageSize - 1) / m.opts.PageSize
		b.WriteString(m.st.Dim.Render(fmt.Sprintf("entry %d of %d · page %d/%d", first, m.page.Total, m.page.Offset/m.opts.PageSize+1, pages)))
	} else {
		b.WriteString(m.st.Dim.Render(fmt.Sprintf("%d entries", m.page.Total)))
	}
	return b.String()
}

// detailView shows one entry in the viewport.
func (m *Model) detailView() string {
	if m.detail == nil && m.detailErr == "" {
		return m.st.Dim.Render("Loading…")
	}
	return m.viewport.View()
}

// detailContent is the entry's description, line by line.
func (m *Model) detailContent() string {
	if m.detailErr != "" {
		return m.st.Error.Render(m.detailErr)
	}
	d := m.detail
	if d == nil {
		return ""
	}
	var b strings.Builder
	label := func(s string) string { return m.st.Key.Render(pad(s, 20)) }
	b.WriteString(m.st.Title.Render(d.URL) + "\n")
	fmt.Fprintf(&b, "%s%s\n", label("key"), d.Key)
	fmt.Fprintf(&b, "%s%s\n", label("read from"), d.Pop)
	fmt.Fprintf(&b, "%s%s\n", label("held by"), strings.Join(d.PopsHolding, ", "))
	for i, v := range d.Variants {
		b.WriteString("\n")
		vary := "no Vary"
		if len(v.Vary) > 0 {
			var kv []string
			for k, val := range v.Vary {
				if val == "" {
					val = "(absent)"
				}
				kv = append(kv, k+"="+val)
			}
			sort.Strings(kv)
			vary = strings.Join(kv, " ")
		}
		b.WriteString(m.st.Header.Render(fmt.Sprintf("variant %d/%d · %s", i+1, len(d.Variants), vary)) + "\n")
		state := m.st.Good.Render("fresh")
		if v.Stale {
			state = m.st.Warn.Render("STALE")
			if v.GraceS > 0 {
				state += fmt.Sprintf(" (served while revalidating for %s more)", humanSeconds(v.GraceS))
			}
		}
		if v.InvalidatedAt != nil {
			state += " · soft-purged at " + v.InvalidatedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(&b, "%s%d\n", label("status"), v.Status)
		fmt.Fprintf(&b, "%s%s (%d bytes)\n", label("size"), humanBytes(v.Size), v.Size)
		fmt.Fprintf(&b, "%s%d\n", label("hits"), v.Hits)
		fmt.Fprintf(&b, "%s%s\n", label("stored at"), v.StoredAt.UTC().Format(time.RFC3339))
		fmt.Fprintf(&b, "%s%s\n", label("age"), humanSeconds(v.AgeS))
		fmt.Fprintf(&b, "%s%s\n", label("freshness lifetime"), humanSeconds(v.FreshnessLifetimeS))
		fmt.Fprintf(&b, "%s%s\n", label("ttl left"), humanSeconds(v.TTLS))
		fmt.Fprintf(&b, "%s%s\n", label("state"), state)
		tags := strings.Join(v.Tags, ", ")
		if tags == "" {
			tags = m.st.Dim.Render("none")
		}
		fmt.Fprintf(&b, "%s%s\n", label("tags"), tags)
		b.WriteString(label("stored headers") + "\n")
		names := make([]string, 0, len(v.Headers))
		for k := range v.Headers {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			for _, val := range v.Headers[k] {
				fmt.Fprintf(&b, "  %s: %s\n", m.st.Dim.Render(k), val)
			}
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// dialog is the purge confirmation, centred in the body.
func (m *Model) dialog(height int) string {
	p := m.confirm
	soft := "s soft purge (serve stale while revalidating)"
	var b strings.Builder
	b.WriteString(m.st.Title.Render("Purge?") + "\n\n")
	fmt.Fprintf(&b, "%s\n", truncate(p.What, max(m.width-8, 20)))
	fmt.Fprintf(&b, "affects %s cached entr%s", m.st.Key.Render(strconv.Itoa(p.Count)), plural(p.Count, "y", "ies"))
	if len(p.Pops) > 0 {
		fmt.Fprintf(&b, " on %s", strings.Join(p.Pops, ", "))
	} else {
		b.WriteString(" across every PoP and the shield")
	}
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "%s hard purge   %s   %s cancel", m.st.Key.Render("y"), m.st.Key.Render(soft[:1])+soft[1:], m.st.Key.Render("n"))
	box := m.st.Dialog.Render(b.String())
	return lipgloss.Place(m.width, height, lipgloss.Center, lipgloss.Center, box)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
