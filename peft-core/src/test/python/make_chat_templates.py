"""Writes the chat-template fixtures of ChatTemplateTest: one tokenizer_config.json per model (its real
chat_template and special tokens, sources in chat-templates/README.md) and expected.json, what Jinja2 renders
for a few conversations in the environment transformers compiles chat templates in
(transformers/utils/chat_template_utils.py: ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks,
the loopcontrols extension, raise_exception, strftime_now and a tojson filter; messages, tools=None,
documents=None, add_generation_prompt and the tokenizer's special tokens as variables).

Run from the repository root with Debian's jinja2 3.1 (no transformers needed):
    /usr/bin/python3 peft-core/src/test/python/make_chat_templates.py
"""

import json
import os
from datetime import datetime

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

OUT = os.path.join(os.path.dirname(__file__), "..", "resources", "chat-templates")

# The templates as tokenizer_config.json holds them (after JSON decoding): "\n" is a newline in the template
# text, "\\n" a backslash-n escape inside a Jinja string literal.
TEMPLATES = {
    "qwen2": {
        "chat_template": "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
        "bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
    },
    "llama2-chat": {
        "chat_template": "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}",
        "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False},
        "eos_token": {"__type": "AddedToken", "content": "</s>", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False},
        "unk_token": {"__type": "AddedToken", "content": "<unk>", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False},
        "pad_token": None,
    },
    "llama3-instruct": {
        "chat_template": "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}",
        "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
    },
    "zephyr": {
        "chat_template": "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}",
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "</s>",
    },
    "mistral-instruct": {
        "chat_template": "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}",
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": None,
    },
    "smollm2-instruct": {
        "chat_template": "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
        "bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "unk_token": "<|endoftext|>", "pad_token": "<|im_end|>",
    },
    "gemma-it": {
        "chat_template": "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}",
        "bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>", "pad_token": "<pad>",
    },
    "deepseek-coder-instruct": {
        "chat_template": "{% if not add_generation_prompt is defined %}\n{% set add_generation_prompt = false %}\n{% endif %}\n{%- set ns = namespace(found=false) -%}\n{%- for message in messages -%}\n    {%- if message['role'] == 'system' -%}\n        {%- set ns.found = true -%}\n    {%- endif -%}\n{%- endfor -%}\n{{bos_token}}{%- if not ns.found -%}\n{{'You are an AI programming assistant, utilizing the Deepseek Coder model, developed by Deepseek Company, and you only answer questions related to computer science. For politically sensitive questions, security and privacy issues, and other non-computer science questions, you will refuse to answer\\n'}}\n{%- endif %}\n{%- for message in messages %}\n    {%- if message['role'] == 'system' %}\n{{ message['content'] }}\n    {%- else %}\n        {%- if message['role'] == 'user' %}\n{{'### Instruction:\\n' + message['content'] + '\\n'}}\n        {%- else %}\n{{'### Response:\\n' + message['content'] + '\\n<|EOT|>\\n'}}\n        {%- endif %}\n    {%- endif %}\n{%- endfor %}\n{% if add_generation_prompt %}\n{{'### Response:'}}\n{% endif %}",
        "bos_token": "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "eos_token": "<|EOT|>", "pad_token": "<|EOT|>",
    },
}

# Constructs real templates use beyond the ones above, each a small template of its own: Python string
# methods, tojson as transformers defines it, loop controls, namespace() with slices, tests on absent tools.
CONSTRUCTS = {
    "python-string-methods": "{% for m in messages %}{{ m.role.title() }}|{{ m.content.strip() }}|{{ m.content.lstrip() }}|{{ m.content.rstrip() }}|{% if m.content.startswith('What') %}starts{% endif %}|{% if m.content.endswith('?') %}ends{% endif %}|{{ m.role.upper() }}{{ 'X'.lower() }}|{{ m.content.split() | length }}|{{ m.content.split('is', 1)[0] }}|{{ m.content.strip('?. ') }}\n{% endfor %}",
    "tojson": "{{ messages | tojson }}|{{ messages[0] | tojson(indent=2) }}|{{ {'n': 1.5, 'k': [1, none, false], 'q': 'a\"b\\\\c'} | tojson }}",
    "loop-controls": "{% for m in messages %}{% if loop.index0 == 1 %}{% continue %}{% endif %}{% if loop.index0 == 3 %}{% break %}{% endif %}{{ m.role }};{% endfor %}",
    "namespace-and-slices": "{% set ns = namespace(n=0, last='') %}{% for m in messages[1:] %}{% set ns.n = ns.n + 1 %}{% set ns.last = m.role %}{% endfor %}{{ ns.n }} {{ ns.last }} {{ messages[-1]['content'][:4] }}",
    "not-before-a-test": "{% set ns = namespace(n=3) %}{% if not tools is defined %}A{% endif %}|{% if not add_generation_prompt is defined %}B{% endif %}|{% if not messages[0]['content'] is string %}C{% endif %}|{% if not ns.n is divisibleby(2) %}D{% endif %}|{% if not tools is none and true %}E{% endif %}|{{ 'F' if not messages[0].role is string else 'G' }}",
    "tests-on-absent-tools": "{% if tools is none %}no-tools{% endif %}|{% if documents is not none %}docs{% endif %}|{% if not tools %}falsy{% endif %}|{% if messages[0].content is string %}str{% endif %}|{% if add_generation_prompt is defined %}agp{% endif %}",
}

def m(role, content):
    return {"role": role, "content": content}

CONVERSATIONS = {
    "one-turn": [m("user", "Hello!")],
    "two-turns": [m("user", "What is 2+2?"), m("assistant", "  It is 4.  "), m("user", "And 3+3?")],
    "system": [m("system", "You are terse."), m("user", "Name a colour."), m("assistant", "Blue.")],
    "non-ascii": [m("user", "Caf\u00e9 \u2615 \u2014 \u65e5\u672c\u8a9e?\nTwo lines."), m("assistant", "\u00a1S\u00ed! \U0001F600")],
    # Template syntax inside a message is text, never evaluated.
    "braces": [m("user", "Print {{ 7 * 7 }} and {% raw %}"), m("assistant", "{# not a comment #}")],
    "not-alternating": [m("user", "a"), m("user", "b")],
}

def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)

def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

def strftime_now(fmt):
    return datetime.now().strftime(fmt)

def token(value):
    return value["content"] if isinstance(value, dict) else value

def main():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    cases = []
    for name, config in TEMPLATES.items():
        with open(os.path.join(OUT, name + ".tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, ensure_ascii=False, indent=2)
            f.write("\n")
        template = env.from_string(config["chat_template"])
        # transformers passes the special tokens the tokenizer has (special_tokens_map: set ones only).
        special = {k: token(v) for k, v in config.items() if k.endswith("_token") and v is not None}
        for conv_name, messages in CONVERSATIONS.items():
            for add_generation_prompt in (False, True):
                case = {"template": name, "conversation": conv_name, "add_generation_prompt": add_generation_prompt}
                try:
                    case["text"] = template.render(messages=messages, tools=None, documents=None,
                                                   add_generation_prompt=add_generation_prompt, **special)
                except jinja2.exceptions.TemplateError as e:
                    case["error"] = str(e)
                cases.append(case)
    special = {"bos_token": "<s>", "eos_token": "</s>"}
    for name, text in CONSTRUCTS.items():
        for conv_name in ("two-turns", "non-ascii"):
            case = {"construct": name, "template_text": text, "special_tokens": special, "conversation": conv_name,
                    "add_generation_prompt": True}
            case["text"] = env.from_string(text).render(messages=CONVERSATIONS[conv_name], tools=None, documents=None,
                                                        add_generation_prompt=True, **special)
            cases.append(case)
    with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"conversations": CONVERSATIONS, "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")

if __name__ == "__main__":
    main()
