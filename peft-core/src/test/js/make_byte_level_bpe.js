// Trains a small GPT-2-style byte-level BPE tokenizer with Hugging Face's `tokenizers` library (npm package
// `tokenizers` 0.23, the Rust library's Node binding) and records what that library encodes and decodes, for
// ByteLevelBpeTokenizerTest. Run from the repository root:
//   (cd /work/tools-chat && npm install tokenizers)   # once, any folder outside the repository
//   NODE_PATH=/work/tools-chat/node_modules node peft-core/src/test/js/make_byte_level_bpe.js
// It writes peft-core/src/test/resources/tokenizers/byte-level-bpe/{tokenizer.json,expected.json}.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Tokenizer, BPE, byteLevelPreTokenizer, byteLevelProcessing } = require('tokenizers');

const OUT = path.join(__dirname, '..', 'resources', 'tokenizers', 'byte-level-bpe');

const SENTENCES = [
  'Once upon a time, there was a little cat named Tom.',
  'Tom liked to play in the garden with his red ball.',
  'One day, Tom saw a big dog near the old tree.',
  'The dog said: "Hello, Tom! Do you want to play?"',
  'They played all day long, and then they went home.',
  'Lily had a café near the river; she sold naïve drawings.',
  '日本語の文章もあります。東京は大きい。',
  'Numbers: 1, 22, 333 and 4444 appear too.',
  'Emoji are bytes as well: 😀 🐱 ☕.',
  '\tTabs, new lines\nand  double  spaces.',
];

// A line holding every byte that valid UTF-8 text can contain, so that the trained vocabulary starts from
// the whole byte alphabet as GPT-2's does (the Node binding's train() takes no initial_alphabet option).
function byteCoverage() {
  const chars = [];
  for (let b = 1; b < 0x80; b++) chars.push(String.fromCodePoint(b));
  for (let c = 0x80; c < 0xc0; c++) chars.push(String.fromCodePoint(c));           // C2 80..BF: continuations
  for (let lead = 0xc3; lead <= 0xdf; lead++) chars.push(String.fromCodePoint((lead - 0xc0) << 6 | 0x80 & 0x3f));
  for (let lead = 0xe0; lead <= 0xef; lead++) chars.push(String.fromCodePoint(lead === 0xe0 ? 0x800 : (lead - 0xe0) << 12));
  for (let lead = 0xf0; lead <= 0xf4; lead++) chars.push(String.fromCodePoint(lead === 0xf0 ? 0x10000 : (lead - 0xf0) << 18));
  return chars.join(' ');
}

const CASES = [
  'Hello world',
  ' leading space',
  '  two leading spaces',
  'Tom and the dog played.',
  'café naïve',
  '日本語のテキスト',
  'emoji 😀 test',
  'tabs\tand\nnew lines',
  'unseen wordzzz qx',
  'trailing space ',
];

async function main() {
  const corpus = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bpe-')), 'corpus.txt');
  fs.writeFileSync(corpus, SENTENCES.join('\n') + '\n' + byteCoverage() + '\n');
  const tok = new Tokenizer(BPE.empty());
  tok.setPreTokenizer(byteLevelPreTokenizer(false, true));   // GPT-2: no prefix space, its regex split
  tok.setPostProcessor(byteLevelProcessing(true));
  tok.train([corpus]);
  tok.addSpecialTokens(['<|endoftext|>']);
  const file = path.join(OUT, 'tokenizer.json');
  tok.save(file, true);
  // The binding has no ByteLevel decoder constructor: write GPT-2's into the saved file and reload it, so
  // that the expectations below come from the library running exactly the file the test loads.
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  json.decoder = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
  fs.writeFileSync(file, JSON.stringify(json, null, 2) + '\n');
  const reloaded = Tokenizer.fromFile(file);
  const cases = [];
  for (const text of CASES) {
    const enc = await reloaded.encode(text, null, { addSpecialTokens: false });
    const ids = enc.getIds();
    cases.push({ text, ids, tokens: enc.getTokens(), decoded: await reloaded.decode(ids, true) });
  }
  const special = await reloaded.encode('a<|endoftext|>b', null, { addSpecialTokens: false });
  fs.writeFileSync(path.join(OUT, 'expected.json'), JSON.stringify({
    library: 'tokenizers (npm) ' + require('tokenizers/package.json').version,
    vocab_size: reloaded.getVocabSize(true),
    endoftext_id: reloaded.tokenToId('<|endoftext|>'),
    cases,
    special: { text: 'a<|endoftext|>b', ids: special.getIds() },
  }, null, 1) + '\n');
}

main();
