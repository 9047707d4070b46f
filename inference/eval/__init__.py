"""The story evaluation: labelled stories, adversarial texts and true paraphrases over real fact sheets
(``inference/data/eval``), and the figures ``linernotes eval`` reports from them."""
