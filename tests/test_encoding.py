from transformers import AutoTokenizer

from model.encoding import SPECIAL_TOKENS, PairEncoder, length_batches


def make(tiny_encoder, max_length=32, use_context=False, template="{target}"):
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_encoder))
    return PairEncoder(tokenizer, max_length, use_context, template)


def test_long_sentence_becomes_overlapping_windows_that_each_fit(tiny_encoder):
    pairs = make(tiny_encoder)
    words = ["sanctions", "are", "illegal", "and", "cruel"] * 20
    text = " ".join(words)
    parts = pairs.windows(text, "US sanctions")
    budget = pairs.text_budget("US sanctions")
    assert len(parts) > 1
    for part in parts:
        n = len(pairs.tokenizer(part, add_special_tokens=False)["input_ids"])
        assert n <= budget
        assert part in text
    assert text.startswith(parts[0]) and text.endswith(parts[-1])
    total = sum(len(p.split()) for p in parts)
    assert total > len(words)  # windows overlap


def test_short_sentence_is_one_window_and_budget_counts_the_target(tiny_encoder):
    pairs = make(tiny_encoder)
    assert pairs.windows("sanctions work", "US sanctions") == ["sanctions work"]
    target_tokens = len(pairs.tokenizer("US sanctions", add_special_tokens=False)["input_ids"])
    assert pairs.text_budget("US sanctions") == 32 - SPECIAL_TOKENS - target_tokens


def test_context_is_marked_and_cut_first(tiny_encoder):
    pairs = make(tiny_encoder, max_length=16, use_context=True)
    sentence = "sanctions are illegal"
    enc = pairs.encode([sentence], ["US sanctions"], ["the embargo " * 20])
    ids = enc["input_ids"][0]
    assert len(ids) == 16
    decoded = pairs.tokenizer.decode(ids)
    assert sentence in decoded
    assert decoded.count(pairs.tokenizer.sep_token) == 3  # after the target, sentence, context
    no_context = make(tiny_encoder, use_context=False)
    plain = no_context.tokenizer.decode(
        no_context.encode([sentence], ["US sanctions"], ["x"])["input_ids"][0]
    )
    assert "x" not in plain.split()


def test_target_template_wraps_the_target(tiny_encoder):
    pairs = make(tiny_encoder, template="the speaker supports {target} .")
    assert pairs.segment_a("US sanctions") == "the speaker supports US sanctions ."


def test_length_batches_cover_every_item_once_sorted_by_length():
    batches = list(length_batches([5, 1, 3, 2, 4], 2))
    assert [b.tolist() for b in batches] == [[1, 3], [2, 4], [0]]
