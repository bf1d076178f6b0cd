// placeholder until the L2Control sources land
