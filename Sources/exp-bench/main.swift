print("exp-bench")
