package devstack

import (
	"eng5np/inputs"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strings"
	"unicode"
)

// judge decides comparisons for the mock provider. An essay's latent quality
// comes from the ground truth when it lists the essay, else from
// HeuristicQuality; the verdict follows the Bradley–Terry (logistic) model
// over the two qualities, drawn from the "verdict" stream of the seed.
type judge struct {
	seed        int64
	groundTruth map[string]float64
	// anchorLabel resolves the database id in an anchor's id in a batch
	// (ANCHOR_{id}_{hex8}) to the label it was registered with, which is
	// what the ground truth knows it by. A real judge reads the text only;
	// this is the mock's way to its latent quality.
	anchorLabel func(id int) (string, bool)
}

// quality returns an essay's latent quality and whether it came from the
// ground truth. Ground-truth ids are the artefact's ids; a wire id matches
// as written or lower-cased, an anchor's by its registered label.
func (j *judge) quality(wireID, text string) (float64, bool) {
	keys := []string{wireID, strings.ToLower(wireID)}
	if id, ok := inputs.ParseServiceAnchorID(wireID); ok && j.anchorLabel != nil {
		if label, ok := j.anchorLabel(id); ok {
			keys = append(keys, label, strings.ToLower(label))
		}
	}
	for _, k := range keys {
		if q, ok := j.groundTruth[k]; ok {
			return q, true
		}
	}
	return HeuristicQuality(text), false
}

// verdict is the mock judge's decision on one oriented pair.
type verdict struct {
	aWins      bool
	pA         float64 // probability that A wins
	confidence float64 // 1.0–5.0
}

func (j *judge) decide(wave int, a, b string, qa, qb float64) verdict {
	p := 1 / (1 + math.Exp(qb-qa))
	v := verdict{pA: p, aWins: unit(j.seed, "verdict", itoa(wave), a, b) < p}
	v.confidence = math.Round((1+4*math.Abs(2*p-1))*10) / 10
	return v
}

// textStats are the features the heuristic and the justifications use.
type textStats struct {
	words     int
	longShare float64 // share of words with 7 or more letters
	typeToken float64 // distinct words / words, over the first 150 words
	sentLen   float64 // mean words per sentence
}

func statsOf(text string) textStats {
	fields := strings.Fields(text)
	st := textStats{words: len(fields)}
	if st.words == 0 {
		return st
	}
	long, sentences := 0, 0
	distinct := map[string]bool{}
	for i, f := range fields {
		w := strings.ToLower(strings.TrimFunc(f, func(r rune) bool { return !unicode.IsLetter(r) }))
		if len([]rune(w)) >= 7 {
			long++
		}
		if i < 150 && w != "" {
			distinct[w] = true
		}
		if strings.ContainsAny(f[len(f)-1:], ".!?") {
			sentences++
		}
	}
	st.longShare = float64(long) / float64(st.words)
	st.typeToken = float64(len(distinct)) / float64(min(st.words, 150))
	st.sentLen = float64(st.words) / float64(max(sentences, 1))
	return st
}

// HeuristicQuality estimates an essay's latent quality (logit scale, about
// −4 to 3) from its text when no ground truth lists it:
//
//	q = log₂(max(words, 20) / 200)            longer essays, up to a point, argue more
//	  + 6·(share of words of 7+ letters − 0.2) a wider vocabulary
//	  + 3·(type/token ratio of the first 150 words − 0.65)
//	  − |mean sentence length − 17| / 12       neither fragments nor run-ons
//
// It is a stand-in for a real judge, good enough to make runs on batches
// without ground truth statistically meaningful.
func HeuristicQuality(text string) float64 {
	st := statsOf(text)
	if st.words == 0 {
		return -4
	}
	return math.Log2(float64(max(st.words, 20))/200) +
		6*(st.longShare-0.2) +
		3*(st.typeToken-0.65) -
		math.Abs(st.sentLen-17)/12
}

// justification explains a verdict in under 500 characters.
func justification(v verdict, textA, textB string) string {
	win, lose := "A", "B"
	ws, ls := statsOf(textA), statsOf(textB)
	if !v.aWins {
		win, lose = "B", "A"
		ws, ls = ls, ws
	}
	var reasons []string
	if ws.words > ls.words+40 {
		reasons = append(reasons, fmt.Sprintf("develops its argument more fully (%d against %d words)", ws.words, ls.words))
	}
	if ws.longShare > ls.longShare+0.02 {
		reasons = append(reasons, "uses a wider and more precise vocabulary")
	}
	if math.Abs(ws.sentLen-17) < math.Abs(ls.sentLen-17) {
		reasons = append(reasons, "controls its sentences better")
	}
	if len(reasons) == 0 {
		reasons = append(reasons, "is slightly more convincing overall")
	}
	closeness := "a clear difference"
	if v.confidence < 2.5 {
		closeness = "a close call"
	}
	return fmt.Sprintf("Essay %s is stronger than Essay %s: it %s. Overall %s.", win, lose, strings.Join(reasons, " and "), closeness)
}

// GroundTruth finds the mock judge's latent qualities: the file given
// explicitly (which must exist), else fallback when that file exists
// (a batch's own ground_truth.csv, or the sample's), else none, and then
// every essay is judged by HeuristicQuality. It returns the qualities and a
// description for banners and logs.
func GroundTruth(explicit, fallback string) (map[string]float64, string, error) {
	path := explicit
	if path == "" {
		if _, err := os.Stat(fallback); fallback == "" || err != nil {
			return nil, "none (essays are judged by the text heuristic)", nil
		}
		path = fallback
	}
	gt, err := inputs.LoadGroundTruth(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("ground truth %s does not exist; pass an existing id,quality CSV with --ground-truth", path)
	}
	if err != nil {
		return nil, "", err
	}
	return gt, fmt.Sprintf("%s (%d ids)", path, len(gt)), nil
}
