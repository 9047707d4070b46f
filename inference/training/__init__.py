"""Training the story model to write slot frames (``linernotes train``): supervised fine-tuning of a
LoRA adapter on house-style frames, then preference tuning on its own frames as the gate judges them."""
