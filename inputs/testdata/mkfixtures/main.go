// Command mkfixtures writes the batch directories the inputs tests read.
// The files are committed; rerun it from the repository root after changing
// it:
//
//	go run ./inputs/testdata/mkfixtures
package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"eng5np/inputs"
)

const root = "inputs/testdata"

func main() {
	for _, d := range []string{"good", "bad", "rich.docx", "semicolon", "shown.docx", "strict.docx"} {
		_ = os.RemoveAll(filepath.Join(root, d))
	}
	good()
	bad()
	semicolon()
	rich()
	shown()
	strict()
}

func write(rel, body string) {
	p := filepath.Join(root, rel)
	must(os.MkdirAll(filepath.Dir(p), 0o755))
	must(os.WriteFile(p, []byte(body), 0o644))
}

func writeBytes(rel string, body []byte) {
	p := filepath.Join(root, rel)
	must(os.MkdirAll(filepath.Dir(p), 0o755))
	must(os.WriteFile(p, body, 0o644))
}

func docx(rel string, paragraphs ...string) {
	var b bytes.Buffer
	must(inputs.WriteDocx(&b, paragraphs))
	writeBytes(rel, b.Bytes())
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

const essay = "The library should stay open in the evening because many students have nowhere quiet to work at home."

func good() {
	write("good/batch.yaml", "assignment_id: 0b7e7c3e-4a51-4f0e-9c43-6f2d1e8a9b10\ncourse_id: 7d1c2b3a-5e6f-4a70-8b91-c2d3e4f5a6b7\ngrade_scale: eng5_np_legacy_9_step\ncourse_code: ENG5\nlanguage: en\nbatch_label: fixture\n")
	write("good/instructions.md", "# Task\n\nWrite an argumentative text about the school library.\n")
	write("good/prompt.md", "Judge which essay argues better.\r\nConsider structure and language.\r\n")
	// A byte-order mark and the accepted header aliases, in another order.
	write("good/anchors.csv", "\ufeffFILE-NAME,ANCHOR-ID,pred_mode_grade\nstrong_A1.txt,Strong A,A\nweak.md,weak-e,e-\n\n")
	write("good/anchors/strong_A1.txt", essay+" Strong.\n")
	write("good/anchors/weak.md", "Library good. "+essay+"\n")
	docx("good/anchors/middle_C+2.docx", "A middling anchor about the library.", essay)
	write("good/anchors/~$middle_C+2.docx", "lock")
	write("good/students/Åsa Öberg.txt", essay+" Åsa.\n")
	write("good/students/b.md", essay+" B.\n")
	write("good/students/"+strings.Repeat("a very long file name ", 4)+"indeed.txt", essay+" Long.\n")
	docx("good/students/essay_word.docx", "First paragraph of a Word essay.", "", "Third paragraph after an empty one.")
	write("good/students/.DS_Store", "junk")
	write("good/students/drafts/old.txt", "draft")
	write("good/ground_truth.csv", "id,quality\nstrong-a,2.0\nweak-e,-2.0\nmiddle_c,0.1\nasa_oberg,0.5\n")
}

func bad() {
	write("bad/batch.yaml", "assignment_id: not-a-uuid\n")
	write("bad/instructions.md", "Task text.\n")
	// prompt.md is missing on purpose.
	write("bad/anchors.csv", "anchor_id,file_name,grade\nx,anchor_x.txt,Z\nm,missing.txt,B\ne,../escape.txt,B\n")
	write("bad/anchors/anchor_x.txt", essay)
	write("bad/anchors/anchor_G.txt", essay)
	write("bad/anchors/noGrade.txt", essay)
	write("bad/anchors/ok_B.txt", essay)
	writeBytes("bad/students/report.pdf", []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"))
	write("bad/students/empty.txt", " \n\t\n")
	write("bad/students/old.doc", "binary word")
	write("bad/students/notes.rtf", "{\\rtf1 hi}")
	writeBytes("bad/students/latin1.txt", []byte("Caf\xe9 au lait is what I drink every morning.\n"))
	write("bad/students/Anna Berg.txt", essay)
	write("bad/students/anna_berg.md", essay)
	writeBytes("bad/students/broken.docx", []byte("PK\x03\x04 not really a zip"))
	docx("bad/students/blank.docx", "", "  ")
}

func semicolon() {
	write("semicolon/instructions.md", "Task.\n")
	write("semicolon/prompt.md", "Rubric.\n")
	write("semicolon/anchors.csv", "anchor_id;file_name;grade\nlow;low.txt;1\nhigh;high.txt;9\n")
	write("semicolon/anchors/low.txt", essay)
	write("semicolon/anchors/high.txt", essay)
	write("semicolon/students/s1.txt", essay)
}

// rich writes a .docx whose document.xml uses what real Word files contain:
// several runs per paragraph, tabs, line breaks, tracked deletions, field
// codes, a table, and DrawingML text that is not the document's text.
// zipDocx writes a .docx from a document.xml, with the parts Word needs to
// open it.
func zipDocx(rel, doc string) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range []struct{ name, body string }{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`},
		{"word/document.xml", doc},
	} {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		must(err)
		_, err = fw.Write([]byte(f.body))
		must(err)
	}
	must(zw.Close())
	writeBytes(rel, b.Bytes())
}

// shown holds what Word writes but does not show as body text, or shows
// once: a text box (its text in mc:Choice for Word and again in
// mc:Fallback for older readers), a moved sentence (w:moveFrom at the old
// place, w:moveTo at the new), hidden text (w:vanish), and a run whose
// vanish is switched off.
func shown() {
	const ns = `xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" ` +
		`xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" ` +
		`xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" ` +
		`xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" ` +
		`xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" ` +
		`xmlns:v="urn:schemas-microsoft-com:vml" mc:Ignorable="wps"`
	box := `<w:txbxContent><w:p><w:r><w:t>Text box line.</w:t></w:r></w:p></w:txbxContent>`
	doc := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document ` + ns + `><w:body>` +
		`<w:p><w:r><w:t xml:space="preserve">Before the box, </w:t></w:r><w:r><mc:AlternateContent>` +
		`<mc:Choice Requires="wps"><w:drawing><wp:anchor><a:graphic><a:graphicData><wps:wsp><wps:txbx>` + box + `</wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice>` +
		`<mc:Fallback><w:pict><v:shape><v:textbox>` + box + `</v:textbox></v:shape></w:pict></mc:Fallback>` +
		`</mc:AlternateContent></w:r><w:r><w:t>after the box.</w:t></w:r></w:p>` +
		`<w:p><w:moveFromRangeStart w:id="1" w:name="move1"/><w:moveFrom w:id="2"><w:r><w:t>Moved sentence. </w:t></w:r></w:moveFrom><w:moveFromRangeEnd w:id="1"/>` +
		`<w:r><w:t>Staying sentence.</w:t></w:r></w:p>` +
		`<w:p><w:r><w:t xml:space="preserve">Visible </w:t></w:r><w:r><w:rPr><w:vanish/></w:rPr><w:t>hidden note </w:t></w:r><w:r><w:rPr><w:vanish w:val="0"/></w:rPr><w:t>shown again </w:t></w:r><w:r><w:t>end.</w:t></w:r></w:p>` +
		`<w:p><w:pPr><w:rPr><w:vanish/></w:rPr></w:pPr><w:moveToRangeStart w:id="3" w:name="move1"/><w:moveTo w:id="4"><w:r><w:t>Moved sentence.</w:t></w:r></w:moveTo><w:moveToRangeEnd w:id="3"/></w:p>` +
		`</w:body></w:document>`
	zipDocx("shown.docx", doc)
}

// strict is a document in Strict OOXML's namespace.
func strict() {
	doc := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://purl.oclc.org/ooxml/wordprocessingml/main" w:conformance="strict"><w:body>` +
		`<w:p><w:r><w:t>A Strict OOXML essay.</w:t></w:r></w:p><w:p><w:r><w:t xml:space="preserve">Second </w:t></w:r><w:r><w:tab/><w:t>paragraph.</w:t></w:r></w:p>` +
		`</w:body></w:document>`
	zipDocx("strict.docx", doc)
}

func rich() {
	const w = `xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"`
	doc := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document ` + w + `><w:body>` +
		`<w:p><w:pPr><w:pStyle w:val="Title"/></w:pPr><w:r><w:t>My </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>Title</w:t></w:r></w:p>` +
		`<w:p><w:r><w:t xml:space="preserve">Name:</w:t></w:r><w:r><w:tab/><w:t>Kim</w:t></w:r><w:r><w:br/><w:t>Second line &amp; more</w:t></w:r></w:p>` +
		`<w:p><w:r><w:t>Kept</w:t></w:r><w:del w:id="1"><w:r><w:delText> deleted</w:delText></w:r></w:del><w:ins w:id="2"><w:r><w:t> inserted</w:t></w:r></w:ins></w:p>` +
		`<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> PAGE </w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r><w:r><w:t>Page field above</w:t></w:r></w:p>` +
		`<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Cell one</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Cell two</w:t></w:r></w:p></w:tc></w:tr></w:tbl>` +
		`<w:p><w:r><a:t>drawing text</a:t><w:t>Last paragraph.</w:t></w:r></w:p>` +
		`</w:body></w:document>`
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range []struct{ name, body string }{
		{"[Content_Types].xml", `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`},
		{"word/document.xml", doc},
	} {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		must(err)
		_, err = fw.Write([]byte(f.body))
		must(err)
	}
	must(zw.Close())
	writeBytes("rich.docx", b.Bytes())
}
