// placeholder until the L2Lab sources land
