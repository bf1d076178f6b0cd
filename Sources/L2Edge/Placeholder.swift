// placeholder until the L2Edge sources land
