print("exp-accuracy")
