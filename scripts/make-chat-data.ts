/**
 * scripts/make-chat-data.ts — writes examples/data/chat.jsonl, the chat dataset of the
 * language-model example: a few hundred short Korean and English conversations, one
 * {"messages": [...]} row per line.
 *
 * The data is SYNTHETIC, written for the example: handwritten question/answer templates
 * (greetings — several rows whose user turn is exactly "안녕?" —, colors, small sums, the next
 * number, days of the week, short facts, polite phrases) expanded deterministically. A seeded
 * generator (runtime/rng.ts, seed SEED below) picks the template wording of each row, which rows get
 * a system message, which conversations are multi-turn, and the final row order, so running the
 * script again writes the same bytes; tests and the example read the written file, not this script.
 *
 *   npx tsx scripts/make-chat-data.ts [output path, default examples/data/chat.jsonl]
 *
 * Every row is at most 240 characters in the default "User:/Assistant:" rendering (plus the
 * end-of-text token), so a character-level model with a 256-token context sees each row whole.
 *
 * Korean particles (은/는, 이에요/예요, ...) are chosen from the last syllable's final consonant, and
 * numbers by how their last digit is read in Sino-Korean (3 = 삼 → "3은", 2 = 이 → "2는").
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Rng, permutation } from "../runtime/rng.ts";

const SEED = 20250607;
const DEFAULT_OUTPUT = join(import.meta.dirname, "..", "examples", "data", "chat.jsonl");

type Role = "system" | "user" | "assistant";
interface Message {
  role: Role;
  content: string;
}
type Lang = "ko" | "en";
/** One exchange: a user turn and the assistant's answer. */
interface Pair {
  lang: Lang;
  user: string;
  assistant: string;
}

// ---- Korean particles ----------------------------------------------------------------------

/** Whether the word's last sound has a final consonant (batchim): 은/이에요 rather than 는/예요. */
function hasBatchim(word: string): boolean {
  const last = word.trim().replace(/[.!?'"]+$/, "").slice(-1);
  if (/[0-9]/.test(last)) {
    // Sino-Korean reading of a number: the last non-zero digit (영 일 이 삼 사 오 육 칠 팔 구),
    // or 십/백/천 (all closed) when it ends in zero; 0 alone is 영 (closed).
    const digits = word.trim().replace(/[^0-9]/g, "");
    const d = Number(digits.slice(-1));
    if (d === 0) return true;
    return [false, true, false, true, false, false, true, true, true, false][d]!;
  }
  const code = last.charCodeAt(0);
  if (code >= 0xac00 && code <= 0xd7a3) return (code - 0xac00) % 28 !== 0;
  return false; // Latin words here end in a vowel sound when read in Korean ("three" → 쓰리).
}
const topic = (w: string) => `${w}${hasBatchim(w) ? "은" : "는"}`;
const copula = (w: string) => `${w}${hasBatchim(w) ? "이에요" : "예요"}`;

// ---- templates -------------------------------------------------------------------------------

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

const KO_HELLO_ANSWERS = ["안녕하세요! 만나서 반가워요. 오늘 무엇을 도와드릴까요?", "안녕하세요! 반가워요. 오늘 하루는 어떠세요?", "안녕! 반가워요. 궁금한 것이 있으면 물어보세요."];
const EN_HELLO_ANSWERS = ["Hello! Nice to meet you. How can I help you today?", "Hi there! How are you today?", "Hello! What can I do for you?"];

function greetings(rng: Rng): Pair[] {
  const pairs: Pair[] = [];
  // "안녕?" is the example's prompt: many rows, mostly the first (friendliest, most common) answer.
  for (let i = 0; i < 12; i++) pairs.push({ lang: "ko", user: "안녕?", assistant: KO_HELLO_ANSWERS[i < 8 ? 0 : 1 + (i % 2)]! });
  for (const user of ["안녕하세요", "안녕하세요!", "안녕하세요?"]) {
    for (let i = 0; i < 2; i++) pairs.push({ lang: "ko", user, assistant: KO_HELLO_ANSWERS[rng.int(2)]! }); // polite answers
  }
  pairs.push({ lang: "ko", user: "안녕!", assistant: KO_HELLO_ANSWERS[2]! });
  pairs.push({ lang: "ko", user: "반가워!", assistant: "저도 반가워요! 무엇을 도와드릴까요?" });
  pairs.push({ lang: "ko", user: "좋은 아침이에요!", assistant: "좋은 아침이에요! 오늘도 좋은 하루 보내세요." });
  for (let i = 0; i < 6; i++) pairs.push({ lang: "en", user: "Hello!", assistant: EN_HELLO_ANSWERS[i < 4 ? 0 : 2]! });
  for (let i = 0; i < 6; i++) pairs.push({ lang: "en", user: i % 2 === 0 ? "Hi" : "Hi!", assistant: EN_HELLO_ANSWERS[1]! });
  pairs.push({ lang: "en", user: "Hello", assistant: EN_HELLO_ANSWERS[0]! });
  pairs.push({ lang: "en", user: "Hey", assistant: "Hey! What can I do for you?" });
  pairs.push({ lang: "en", user: "Good morning!", assistant: "Good morning! I hope you have a great day." });
  pairs.push({ lang: "en", user: "Good evening!", assistant: "Good evening! How was your day?" });
  return pairs;
}

/** [English subject, Korean subject, English color, Korean color] */
const COLORED: [string, string, string, string][] = [
  ["the sky", "하늘", "blue", "파란색"],
  ["grass", "풀", "green", "초록색"],
  ["a banana", "바나나", "yellow", "노란색"],
  ["snow", "눈", "white", "흰색"],
  ["a strawberry", "딸기", "red", "빨간색"],
  ["an orange", "오렌지", "orange", "주황색"],
  ["coal", "석탄", "black", "검은색"],
  ["a lemon", "레몬", "yellow", "노란색"],
  ["a tomato", "토마토", "red", "빨간색"],
  ["a leaf", "나뭇잎", "green", "초록색"],
  ["milk", "우유", "white", "흰색"],
  ["an eggplant", "가지", "purple", "보라색"],
  ["a carrot", "당근", "orange", "주황색"],
  ["a cloud", "구름", "white", "흰색"],
  ["the sea", "바다", "blue", "파란색"],
  ["a crow", "까마귀", "black", "검은색"],
];

function colors(rng: Rng): Pair[] {
  const en = ["What color is {x}?", "What is the color of {x}?"];
  const ko = ["{x} 무슨 색이야?", "{x} 어떤 색이에요?"];
  return COLORED.flatMap(([enX, koX, enC, koC]) => [
    { lang: "en" as const, user: en[rng.int(en.length)]!.replace("{x}", enX), assistant: `${capitalize(enX)} is ${enC}.` },
    { lang: "ko" as const, user: ko[rng.int(ko.length)]!.replace("{x}", topic(koX)), assistant: `${topic(koX)} ${copula(koC)}.` },
  ]);
}

function numbers(rng: Rng): Pair[] {
  const pairs: Pair[] = [];
  // 24 distinct sums a + b (1..9 each) per language.
  const sums = (): [number, number][] => {
    const seen = new Set<number>();
    const out: [number, number][] = [];
    while (out.length < 24) {
      const a = 1 + rng.int(9);
      const b = 1 + rng.int(9);
      if (!seen.has(a * 10 + b)) (seen.add(a * 10 + b), out.push([a, b]));
    }
    return out;
  };
  for (const [a, b] of sums()) {
    pairs.push({ lang: "en", user: `What is ${a} plus ${b}?`, assistant: `${a} plus ${b} is ${a + b}.` });
  }
  for (const [a, b] of sums()) {
    const sum = `${a} 더하기 ${topic(String(b))}`;
    pairs.push({ lang: "ko", user: rng.int(2) === 0 ? `${sum}?` : `${sum} 얼마야?`, assistant: `${sum} ${copula(String(a + b))}.` });
  }
  for (let n = 0; n < 20; n++) {
    if (rng.int(3) === 0) continue;
    pairs.push({ lang: "en", user: `What number comes after ${n}?`, assistant: `${n + 1} comes after ${n}.` });
    pairs.push({ lang: "ko", user: `${n} 다음 숫자는 뭐야?`, assistant: `${n} 다음 숫자는 ${copula(String(n + 1))}.` });
  }
  const sino = ["일", "이", "삼", "사", "오", "육", "칠", "팔", "구", "십"];
  const romanized = ["il", "i", "sam", "sa", "o", "yuk", "chil", "pal", "gu", "sip"];
  const english = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];
  // Read in Korean: 원 세븐 에잇 나인 텐 end in a consonant.
  const englishBatchim = [true, false, false, false, false, false, true, true, true, true];
  for (let n = 1; n <= 10; n++) {
    pairs.push({ lang: "en", user: `How do you say ${n} in Korean?`, assistant: `${n} is ${sino[n - 1]} (${romanized[n - 1]}) in Korean.` });
    const word = english[n - 1]!;
    pairs.push({ lang: "ko", user: `${topic(String(n))} 영어로 뭐야?`, assistant: `${topic(String(n))} 영어로 ${word}${englishBatchim[n - 1] ? "이에요" : "예요"}.` });
  }
  return pairs;
}

const EN_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const KO_DAYS = ["월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일"];

function days(): Pair[] {
  const pairs: Pair[] = [];
  for (let i = 0; i < 7; i++) {
    const next = (i + 1) % 7;
    const prev = (i + 6) % 7;
    pairs.push({ lang: "en", user: `What day comes after ${EN_DAYS[i]}?`, assistant: `${EN_DAYS[next]} comes after ${EN_DAYS[i]}.` });
    pairs.push({ lang: "en", user: `What day comes before ${EN_DAYS[i]}?`, assistant: `${EN_DAYS[prev]} comes before ${EN_DAYS[i]}.` });
    pairs.push({ lang: "ko", user: `${KO_DAYS[i]} 다음은 무슨 요일이야?`, assistant: `${KO_DAYS[i]} 다음은 ${copula(KO_DAYS[next]!)}.` });
    pairs.push({ lang: "ko", user: `${KO_DAYS[i]} 전날은 무슨 요일이야?`, assistant: `${KO_DAYS[i]} 전날은 ${copula(KO_DAYS[prev]!)}.` });
  }
  pairs.push({ lang: "en", user: "How many days are in a week?", assistant: "There are seven days in a week." });
  pairs.push({ lang: "ko", user: "일주일은 며칠이야?", assistant: "일주일은 7일이에요." });
  pairs.push({ lang: "en", user: "What is the first day of the week?", assistant: "Many calendars start the week on Monday, others on Sunday." });
  pairs.push({ lang: "ko", user: "주말은 무슨 요일이야?", assistant: "주말은 토요일과 일요일이에요." });
  return pairs;
}

function facts(): Pair[] {
  const pairs: Pair[] = [];
  const capitals: [string, string, string, string][] = [
    ["South Korea", "한국", "Seoul", "서울"],
    ["Japan", "일본", "Tokyo", "도쿄"],
    ["France", "프랑스", "Paris", "파리"],
    ["the United Kingdom", "영국", "London", "런던"],
    ["China", "중국", "Beijing", "베이징"],
    ["Italy", "이탈리아", "Rome", "로마"],
    ["Germany", "독일", "Berlin", "베를린"],
    ["Spain", "스페인", "Madrid", "마드리드"],
  ];
  for (const [en, ko, enCity, koCity] of capitals) {
    pairs.push({ lang: "en", user: `What is the capital of ${en}?`, assistant: `The capital of ${en} is ${enCity}.` });
    pairs.push({ lang: "ko", user: `${ko}의 수도는 어디야?`, assistant: `${ko}의 수도는 ${copula(koCity)}.` });
  }
  const sounds: [string, string, string, string][] = [
    ["a cat", "고양이", "meow", "야옹"],
    ["a dog", "강아지", "woof", "멍멍"],
    ["a cow", "소", "moo", "음매"],
    ["a duck", "오리", "quack", "꽥꽥"],
    ["a sheep", "양", "baa", "매애"],
  ];
  for (const [en, ko, enSound, koSound] of sounds) {
    pairs.push({ lang: "en", user: `What sound does ${en} make?`, assistant: `${capitalize(en)} says ${enSound}.` });
    pairs.push({ lang: "ko", user: `${topic(ko)} 어떻게 울어?`, assistant: `${topic(ko)} ${koSound} 하고 울어요.` });
  }
  const legs: [string, string, string, string][] = [
    ["a dog", "강아지", "four", "네"],
    ["a spider", "거미", "eight", "여덟"],
    ["a bird", "새", "two", "두"],
    ["an ant", "개미", "six", "여섯"],
  ];
  for (const [en, ko, enCount, koCount] of legs) {
    pairs.push({ lang: "en", user: `How many legs does ${en} have?`, assistant: `${capitalize(en)} has ${enCount} legs.` });
    pairs.push({ lang: "ko", user: `${topic(ko)} 다리가 몇 개야?`, assistant: `${topic(ko)} 다리가 ${koCount} 개예요.` });
  }
  const opposites: [string, string, string, string][] = [
    ["hot", "cold", "뜨겁다", "차갑다"],
    ["big", "small", "크다", "작다"],
    ["up", "down", "위", "아래"],
    ["day", "night", "낮", "밤"],
    ["happy", "sad", "기쁘다", "슬프다"],
    ["fast", "slow", "빠르다", "느리다"],
  ];
  for (const [en, enOpposite, ko, koOpposite] of opposites) {
    pairs.push({ lang: "en", user: `What is the opposite of ${en}?`, assistant: `The opposite of ${en} is ${enOpposite}.` });
    pairs.push({ lang: "ko", user: `${ko}의 반대말은 뭐야?`, assistant: `${ko}의 반대말은 ${copula(koOpposite)}.` });
  }
  const misc: [Lang, string, string][] = [
    ["en", "How many months are in a year?", "There are twelve months in a year."],
    ["ko", "1년은 몇 달이야?", "1년은 열두 달이에요."],
    ["en", "Where does the sun rise?", "The sun rises in the east."],
    ["ko", "해는 어디에서 떠?", "해는 동쪽에서 떠요."],
    ["en", "What do bees make?", "Bees make honey."],
    ["ko", "벌은 무엇을 만들어?", "벌은 꿀을 만들어요."],
    ["en", "What is frozen water called?", "Frozen water is called ice."],
    ["ko", "물이 얼면 뭐가 돼?", "물이 얼면 얼음이 돼요."],
    ["en", "How many hours are in a day?", "There are twenty-four hours in a day."],
    ["ko", "하루는 몇 시간이야?", "하루는 24시간이에요."],
    ["en", "What season comes after winter?", "Spring comes after winter."],
    ["ko", "겨울 다음은 무슨 계절이야?", "겨울 다음은 봄이에요."],
    ["en", "What do plants need to grow?", "Plants need water, sunlight and air to grow."],
    ["ko", "식물이 자라려면 무엇이 필요해?", "식물이 자라려면 물과 햇빛과 공기가 필요해요."],
  ];
  for (const [lang, user, assistant] of misc) pairs.push({ lang, user, assistant });
  return pairs;
}

const THANKS: Record<Lang, Pair[]> = {
  en: [
    { lang: "en", user: "Thank you!", assistant: "You're welcome! I'm happy to help." },
    { lang: "en", user: "Thanks", assistant: "You're welcome!" },
  ],
  ko: [
    { lang: "ko", user: "고마워!", assistant: "천만에요! 도움이 되어서 기뻐요." },
    { lang: "ko", user: "감사합니다.", assistant: "천만에요! 언제든지 물어보세요." },
  ],
};

function polite(): Pair[] {
  const list: [Lang, string, string][] = [
    ["en", "Goodbye!", "Goodbye! Have a nice day."],
    ["en", "See you later!", "See you later! Take care."],
    ["en", "Sorry.", "That's okay. Don't worry about it."],
    ["en", "How are you?", "I'm doing well, thank you! How about you?"],
    ["en", "Good night!", "Good night! Sleep well."],
    ["en", "What is your name?", "I am a small assistant trained for this example."],
    ["en", "Nice to meet you.", "Nice to meet you too!"],
    ["en", "Please help me.", "Of course! What do you need help with?"],
    ["en", "How do you say thank you in Korean?", "\"Thank you\" is \"감사합니다\" (gamsahamnida) in Korean."],
    ["en", "How do you say hello in Korean?", "\"Hello\" is \"안녕하세요\" (annyeonghaseyo) in Korean."],
    ["ko", "잘 가!", "안녕히 가세요! 좋은 하루 보내세요."],
    ["ko", "또 만나요!", "네, 또 만나요! 건강하세요."],
    ["ko", "미안해.", "괜찮아요. 신경 쓰지 마세요."],
    ["ko", "잘 지내?", "네, 잘 지내요! 당신은요?"],
    ["ko", "잘 자!", "안녕히 주무세요! 좋은 꿈 꾸세요."],
    ["ko", "이름이 뭐야?", "저는 이 예제를 위해 학습된 작은 도우미예요."],
    ["ko", "만나서 반가워요.", "저도 만나서 반가워요!"],
    ["ko", "도와줄 수 있어?", "물론이에요! 무엇을 도와드릴까요?"],
    ["ko", "'감사합니다'는 영어로 뭐야?", "'감사합니다'는 영어로 'thank you'예요."],
    ["ko", "'안녕하세요'는 영어로 뭐야?", "'안녕하세요'는 영어로 'hello'예요."],
  ];
  return [...THANKS.en, ...THANKS.ko, ...list.map(([lang, user, assistant]) => ({ lang, user, assistant }))];
}

const SYSTEM: Record<Lang, string[]> = {
  en: ["You are a friendly assistant. Answer briefly.", "You are a helpful assistant who speaks Korean and English."],
  ko: ["당신은 친절한 도우미입니다. 짧게 대답하세요.", "You are a helpful assistant who speaks Korean and English."],
};

// ---- rows ------------------------------------------------------------------------------------

function turns(pair: Pair): Message[] {
  return [
    { role: "user", content: pair.user },
    { role: "assistant", content: pair.assistant },
  ];
}

/**
 * Characters of a row in the default format ("System: …\nUser: …\nAssistant: …" + one end-of-text
 * token): at most MAX_CHARACTERS, so that a character-level model with a context of 256 sees
 * every row whole.
 */
const MAX_CHARACTERS = 240;
const LABELS: Record<Role, string> = { system: "System", user: "User", assistant: "Assistant" };
function renderedLength(messages: Message[]): number {
  return Array.from(messages.map((m) => `${LABELS[m.role]}: ${m.content}`).join("\n")).length + 1;
}

export function makeChatRows(seed = SEED): Message[][] {
  const rng = new Rng(seed);
  const greetingPairs = greetings(rng);
  const questionPairs = [...colors(rng), ...numbers(rng), ...days(), ...facts()];
  const politePairs = polite();
  const withSystem = (lang: Lang, messages: Message[]): Message[] =>
    rng.int(6) === 0 ? [{ role: "system", content: SYSTEM[lang][rng.int(SYSTEM[lang].length)]! }, ...messages] : messages;

  const rows: Message[][] = [];
  for (const pair of [...greetingPairs, ...questionPairs, ...politePairs]) rows.push(withSystem(pair.lang, turns(pair)));

  // Multi-turn: a greeting, one or two questions in the same language, sometimes a thank-you.
  const byLang = (pairs: Pair[], lang: Lang) => pairs.filter((p) => p.lang === lang);
  for (let i = 0; i < 90; i++) {
    const lang: Lang = i % 2 === 0 ? "ko" : "en";
    const greeting = lang === "ko" && i % 4 === 0 ? { lang, user: "안녕?", assistant: KO_HELLO_ANSWERS[0]! } : byLang(greetingPairs, lang)[rng.int(byLang(greetingPairs, lang).length)]!;
    const questions = byLang(questionPairs, lang);
    const conversation = [greeting];
    const count = 1 + rng.int(2);
    while (conversation.length < 1 + count) {
      const question = questions[rng.int(questions.length)]!;
      if (!conversation.includes(question)) conversation.push(question);
    }
    if (rng.int(2) === 0) conversation.push(THANKS[lang][rng.int(THANKS[lang].length)]!);
    // Keep every row within MAX_CHARACTERS as rendered: drop the last exchanges of a long one.
    let messages = withSystem(lang, conversation.flatMap(turns));
    while (renderedLength(messages) > MAX_CHARACTERS) messages = messages.slice(0, -2);
    rows.push(messages);
  }
  const order = permutation(rows.length, seed);
  return Array.from(order, (i) => rows[i]!);
}

export function chatJsonl(seed = SEED): string {
  return makeChatRows(seed)
    .map((messages) => JSON.stringify({ messages }))
    .join("\n")
    .concat("\n");
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const output = process.argv[2] ?? DEFAULT_OUTPUT;
  const text = chatJsonl();
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, text);
  process.stdout.write(`wrote ${output}: ${text.split("\n").length - 1} rows, ${Buffer.byteLength(text)} bytes\n`);
}
