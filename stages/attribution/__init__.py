"""The attribution science: Integrated Gradients engines and the quality of their explanations."""
