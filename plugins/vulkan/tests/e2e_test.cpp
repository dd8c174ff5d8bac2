int placeholder_e2e = 0;
