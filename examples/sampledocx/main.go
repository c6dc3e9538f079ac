// Command sampledocx writes the Word (.docx) essays of the sample batch, so
// that the batch exercises the .docx reader. The files are committed; their
// text lives here. Run from the repository root:
//
//	go run ./examples/sampledocx
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"eng5np/inputs"
)

var essays = map[string]string{
	"anchors/anchor_Dplus.docx": `Sleep First, Lessons Second

Dear members of the school board,

I am writing because I think the proposal to start school at 9:30 is a good one, and I would like to explain my view.

To begin with, teenagers really do need more sleep than we get today. Our body clock changes during puberty, which means that we do not feel tired until late in the evening. Most of my friends fall asleep around midnight, and then the alarm goes off at half past six. Six hours of sleep is not enough for anyone, and especially not for someone who is still growing.

Furthermore, I believe that we would learn more. When I am tired I have to read everything twice, and I often forget what we did in the first lesson. If we started later, teachers would not have to repeat so much, and we could use the time better.

I also think that the atmosphere in school would improve. Tired students are often irritated, and small conflicts become bigger. More sleep could make school a calmer place.

On the other hand, I understand that some students are worried about their afternoons. If school finishes later, it will be harder to combine school with a job or training. However, I think this problem is smaller than the problem of being tired every single morning, and many clubs already train in the evenings.

To sum up, I believe a later start would make us healthier, calmer and better at learning. I hope that you will vote for the proposal.

Yours sincerely,
A student in year two`,

	"students/Elias Nyström.docx": `Nine-Thirty: A Small Change With Big Effects

The board is now deciding whether our school day should start at 9:30 instead of 8:10. I strongly believe that it should, and in this text I will present my arguments and also respond to those who disagree.

First and foremost, a later start would be good for students' health. It is well known that teenagers' body clocks shift during puberty, which makes it difficult to fall asleep early. Consequently, an early start means that many students are constantly short of sleep. This affects not only how alert we are in class but also our mood, our immune system and our ability to handle stress.

In addition, the change would make teaching more effective. Anyone who has been in a classroom at ten past eight knows how slow and silent it can be. Students are physically present, but their minds are somewhere else. If lessons started later, teachers could spend less time repeating things and more time actually teaching.

Opponents claim that a later start would simply make students stay up later, and that the school day would end too late for those who have jobs or play sports. The first claim is not supported by research, which shows that students at schools with later start times actually sleep more. The second claim is more reasonable, but it could be solved by adapting training times and by being flexible with students who work.

In conclusion, starting school at 9:30 is a small change that could have big effects on both health and learning. I therefore urge the board to approve the proposal.`,

	"students/Ella Forsberg.docx": `Waking Up the Timetable

There is a particular kind of silence that only exists in a classroom at ten past eight on a Monday in February. It is not the silence of concentration; it is the silence of thirty people who would rather be asleep. The proposal to move our first lesson to 9:30 is an attempt to replace that silence with real learning, and I believe the board should approve it.

The scientific basis for the proposal is solid. In adolescence the body's internal clock shifts later, so that the hormone which makes us sleepy is released at a time when adults are already yawning. Telling teenagers to go to bed earlier therefore misunderstands the problem. Most of us lie awake until eleven or later regardless, and an early start then robs us of the sleep we need for memory, concentration and emotional balance.

The practical benefits follow naturally. Rested students participate more, remember more and are less likely to skip the first lesson altogether. Schools that have tried later start times report exactly these effects, and they achieved them without spending any money on extra teachers or resources.

I do not want to ignore the difficulties. A later finish would make the afternoon tighter for students who work or train, and parents who organise their mornings around the current timetable would have to adapt. These are real costs, but they are costs that can be reduced through planning: clubs can shift training times, the school can offer an early study room, and the change could be introduced as a trial year so that its effects can be measured.

In the end, the question is whether we want our timetable to reflect habit or evidence. I hope the board will choose evidence.`,

	"students/William Engström.docx": `Let the School Day Begin When Students Do

Few things illustrate the gap between how schools are organised and how teenagers function better than the 8:10 start. The proposal to move the first lesson to 9:30 would narrow that gap, and I would like to explain why I believe the board should adopt it.

The decisive argument is physiological. During adolescence, the release of melatonin is delayed by one to two hours, which means that a typical sixteen-year-old is biologically unready for sleep until well after ten. An early start does not change this rhythm; it merely shortens the night. The result, for many of us, is a persistent sleep debt that undermines memory, attention and emotional resilience, exactly the capacities that school requires.

There is also a compelling practical argument. The first lesson of the day is, in my experience, the least productive, not because teachers are less skilled at that hour but because students are less able to benefit. Research from schools that have delayed their start times points in the same direction: students sleep longer, attend more consistently and report better wellbeing. That such gains can be achieved without extra funding makes the proposal unusually attractive.

Nonetheless, the objections deserve a fair hearing. A later finish would compress afternoons already crowded with part-time work, training and family responsibilities, and rural students could be disadvantaged if bus timetables are not adjusted. These concerns are legitimate, yet they are arguments for careful implementation rather than for rejection. Coordination with the transport company, dialogue with local clubs and an early-opening study space would address most of them.

To conclude, a later start is a modest reform with a strong scientific basis and limited costs. I urge the board to approve it as a pilot and to evaluate it openly after one year.`,

	"students/Freja Axelsson.docx": `My Opinion About a Later Start

I think that the proposal to start school at 9:30 is good, and in this text I will give my reasons and also write about what people who disagree think.

My first reason is sleep. Teenagers need about nine hours of sleep every night, but most of us only sleep around six or seven hours. The reason is that our body clock changes when we are teenagers, and we do not feel tired until late. So when we have to wake up early, we are tired the whole day.

My second reason is that it is hard to learn when you are tired. In the first lesson, many students do not say anything and some are almost sleeping. Later in the day it is much better and we can discuss and work together.

My third reason is that the mornings would be less stressful. Many students do not have time for breakfast today, and then it is hard to concentrate.

Some people think that a later start is a bad idea because school will end later and students will have less free time. They also say that students will just go to bed later. I think that the first argument is partly true, but free time in the evening is still possible. The second argument I do not agree with, because our body decides when we get tired.

In conclusion, I think that a later start would be good for students, and I hope that the school board will agree.`,
}

func main() {
	for rel, text := range essays {
		var b bytes.Buffer
		if err := inputs.WriteDocx(&b, strings.Split(text, "\n")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		p := filepath.Join("examples", "sample", rel)
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
