print("l2motion")
